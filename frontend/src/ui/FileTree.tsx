/**
 * The room's files as a tree: open, create, rename, delete, and choose the
 * entry file Run executes. Every change goes into the shared document, so
 * everyone in the room sees it at once; who has which file open shows as dots.
 * @module
 */
import { useState } from 'react';
import type { KeyboardEvent, ReactNode } from 'react';
import type * as Y from 'yjs';
import type { Participant } from '../collab/participants';
import { buildTree, createFile, deleteFile, FileNameError, renameFile, setEntry } from '../collab/roomFiles';
import type { TreeNode } from '../collab/roomFiles';
import { ChevronIcon, EntryIcon, FileIcon, FolderIcon, PencilIcon, PlusIcon, TrashIcon } from './icons';

export interface FileTreeProps {
  readonly doc: Y.Doc;
  readonly paths: readonly string[];
  readonly entry: string | null;
  readonly activeFile: string | null;
  readonly people: readonly Participant[];
  /** The user opened a file (or created / renamed one). */
  readonly onOpen: (path: string) => void;
  /** Disabled until the room's document has arrived. */
  readonly ready: boolean;
  /** The caller may not edit (viewer, runner): no file actions. */
  readonly readOnly?: boolean;
}

type Editing = { readonly kind: 'new' } | { readonly kind: 'rename'; readonly path: string } | { readonly kind: 'delete'; readonly path: string };

export function FileTree({ doc, paths, entry, activeFile, people, onOpen, ready, readOnly = false }: FileTreeProps) {
  const [editing, setEditing] = useState<Editing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());

  const attempt = (fn: () => string | void): void => {
    try {
      const opened = fn();
      setEditing(null);
      setError(null);
      if (typeof opened === 'string') onOpen(opened);
    } catch (err) {
      setError(err instanceof FileNameError ? err.message : String(err));
    }
  };

  const toggle = (dir: string): void =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (!next.delete(dir)) next.add(dir);
      return next;
    });

  const renderNode = (node: TreeNode, depth: number): ReactNode => {
    if (node.kind === 'dir') {
      const open = !collapsed.has(node.path);
      return (
        <li key={`d:${node.path}`}>
          <button type="button" className="tree-row tree-dir" style={{ paddingLeft: 10 + depth * 14 }} onClick={() => toggle(node.path)} aria-expanded={open}>
            <ChevronIcon open={open} />
            <FolderIcon />
            <span className="tree-name">{node.name}</span>
          </button>
          {open ? <ul className="tree-list">{node.children.map((c) => renderNode(c, depth + 1))}</ul> : null}
        </li>
      );
    }
    const { path } = node;
    if (editing?.kind === 'rename' && editing.path === path) {
      return (
        <li key={`f:${path}`}>
          <NameInput
            depth={depth}
            initial={path}
            testId="rename-input"
            label={`New name for ${path}`}
            onSubmit={(to) => attempt(() => renameFile(doc, path, to))}
            onCancel={() => {
              setEditing(null);
              setError(null);
            }}
          />
        </li>
      );
    }
    if (editing?.kind === 'delete' && editing.path === path) {
      return (
        <li key={`f:${path}`} className="tree-confirm" style={{ paddingLeft: 10 + depth * 14 }} data-testid="confirm-delete">
          <span>
            Delete <strong>{node.name}</strong> for everyone?
          </span>
          <button type="button" className="btn btn-danger btn-small" data-testid="confirm-delete-yes" onClick={() => attempt(() => deleteFile(doc, path))} autoFocus>
            Delete
          </button>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </li>
      );
    }
    const here = people.filter((p) => !p.isSelf && p.activeFile === path);
    const isEntry = path === entry;
    return (
      <li key={`f:${path}`}>
        <div className={`tree-row tree-file${path === activeFile ? ' tree-active' : ''}`} style={{ paddingLeft: 24 + depth * 14 }} data-testid="file-row" data-path={path} data-entry={isEntry || undefined}>
          <button type="button" className="tree-open" onClick={() => onOpen(path)} title={path}>
            <FileIcon />
            <span className="tree-name">{node.name}</span>
            {isEntry ? (
              <span className="entry-badge" title="Run executes this file" data-testid="entry-badge">
                <EntryIcon />
                entry
              </span>
            ) : null}
          </button>
          <span className="tree-people" aria-label={here.map((p) => p.name).join(', ')}>
            {here.slice(0, 4).map((p) => (
              <span key={p.clientId} className="presence-dot" style={{ background: p.color }} title={`${p.name} is here`} />
            ))}
          </span>
          {readOnly ? null : (
            <span className="tree-actions">
              {!isEntry ? (
                <button type="button" className="icon-btn" title="Run this file (make it the entry)" aria-label={`Make ${path} the entry file`} data-testid="set-entry" onClick={() => setEntry(doc, path)}>
                  <EntryIcon />
                </button>
              ) : null}
              <button type="button" className="icon-btn" title="Rename" aria-label={`Rename ${path}`} data-testid="rename-file" onClick={() => setEditing({ kind: 'rename', path })}>
                <PencilIcon />
              </button>
              <button type="button" className="icon-btn icon-danger" title="Delete" aria-label={`Delete ${path}`} data-testid="delete-file" onClick={() => setEditing({ kind: 'delete', path })}>
                <TrashIcon />
              </button>
            </span>
          )}
        </div>
      </li>
    );
  };

  return (
    <section className="side-section files-section" aria-label="Files" data-testid="file-tree">
      <div className="side-header">
        <span className="pane-title">Files</span>
        <span className="spacer" />
        <button
          type="button"
          className="icon-btn"
          title="New file"
          aria-label="New file"
          data-testid="new-file"
          disabled={!ready || readOnly}
          onClick={() => {
            setEditing({ kind: 'new' });
            setError(null);
          }}
        >
          <PlusIcon />
        </button>
      </div>
      {editing?.kind === 'new' ? (
        <NameInput
          depth={0}
          initial=""
          testId="new-file-input"
          label="New file name, e.g. utils.py or lib/helpers.py"
          onSubmit={(path) => attempt(() => createFile(doc, path))}
          onCancel={() => {
            setEditing(null);
            setError(null);
          }}
        />
      ) : null}
      {error ? (
        <div className="tree-error" role="alert" data-testid="file-error">
          {error}
        </div>
      ) : null}
      <ul className="tree-list tree-root">{buildTree(paths).map((n) => renderNode(n, 0))}</ul>
      {ready && paths.length === 0 ? <div className="side-empty">No files yet. Add one with +.</div> : null}
    </section>
  );
}

interface NameInputProps {
  readonly depth: number;
  readonly initial: string;
  readonly label: string;
  readonly testId: string;
  readonly onSubmit: (value: string) => void;
  readonly onCancel: () => void;
}

function NameInput({ depth, initial, label, testId, onSubmit, onCancel }: NameInputProps) {
  const [value, setValue] = useState(initial);
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key === 'Enter') {
      e.preventDefault();
      onSubmit(value);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      onCancel();
    }
  };
  return (
    <div className="tree-row tree-input-row" style={{ paddingLeft: 24 + depth * 14 }}>
      <FileIcon />
      <input
        className="tree-input"
        data-testid={testId}
        aria-label={label}
        placeholder="name.py"
        value={value}
        autoFocus
        spellCheck={false}
        autoComplete="off"
        onFocus={(e) => {
          // Select the name without its extension, as file managers do.
          const dot = e.target.value.lastIndexOf('.');
          const slash = e.target.value.lastIndexOf('/') + 1;
          e.target.setSelectionRange(slash, dot > slash ? dot : e.target.value.length);
        }}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={onCancel}
      />
    </div>
  );
}
