/**
 * The program's stdin while it runs: Enter sends the line plus "\n",
 * Ctrl+D (or the EOF button) closes stdin.
 * @module
 */
import { useState } from 'react';
import type { KeyboardEvent } from 'react';
import type { RunController } from '../run/RunController';

export function StdinLine({ controller, disabled }: { readonly controller: RunController; readonly disabled: boolean }) {
  const [line, setLine] = useState('');

  const send = (): void => {
    const text = line;
    setLine('');
    void controller.sendLine(text);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key === 'Enter' && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      send();
    } else if (e.key === 'd' && e.ctrlKey && line === '') {
      e.preventDefault();
      void controller.sendEof();
    }
  };

  return (
    <div className="stdin" data-testid="stdin-line">
      <span className="stdin-prompt" aria-hidden="true">
        stdin ›
      </span>
      <input
        className="stdin-input"
        data-testid="stdin-input"
        aria-label="Program input: Enter sends the line, Ctrl+D sends end of file"
        placeholder={disabled ? 'stdin closed' : 'Type input for the program, Enter to send'}
        value={line}
        disabled={disabled}
        autoComplete="off"
        spellCheck={false}
        onChange={(e) => setLine(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <button
        type="button"
        className="btn btn-ghost btn-small"
        data-testid="stdin-eof"
        disabled={disabled}
        title="Close the program's stdin (Ctrl+D)"
        onClick={() => void controller.sendEof()}
      >
        EOF
      </button>
    </div>
  );
}
