/**
 * A centred card for pages that are not a room: loading, errors, forms
 * (sign-in, setup, joining a room).
 * @module
 */
import type { ReactNode } from 'react';
import { LogoMark } from './icons';

export function Notice({ title, message, busy, children }: { readonly title: string; readonly message?: string; readonly busy?: boolean; readonly children?: ReactNode }) {
  return (
    <div className="notice-page">
      <div className="notice-card">
        <div className="brand">
          <LogoMark />
          <span className="brand-name">CodeCell Live</span>
        </div>
        <h1 className="notice-title">
          {busy ? <span className="spinner" aria-hidden="true" /> : null}
          {title}
        </h1>
        {message ? <p className="muted">{message}</p> : null}
        {children}
      </div>
    </div>
  );
}
