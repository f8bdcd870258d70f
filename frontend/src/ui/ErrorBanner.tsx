import type { UserError } from '../api/userError';

/** An error shown above a pane until dismissed. */
export function ErrorBanner({ error, testId, onDismiss }: { readonly error: UserError; readonly testId: string; readonly onDismiss: () => void }) {
  return (
    <div className="banner banner-error" role="alert" data-testid={testId} data-code={error.code}>
      <span className="banner-text">{error.message}</span>
      <button type="button" className="banner-close" aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
