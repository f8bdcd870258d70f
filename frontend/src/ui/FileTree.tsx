/**
 * The room's files as a tree: open, create, rename, delete files and folders,
 * choose the entry file Run executes, download a file; upload files and
 * folders (buttons, or dropped on the tree or on a folder), import a .zip and
 * download the room as one (issue 11). Every change goes into the shared
 * document, so everyone in the room sees it at once; who has which file open
 * shows as dots, and files the last runs wrote carry a mark.
 * @module
 */
import { useState } from 'react';
import type { DragEvent, ReactNode } from 'react';
import type * as Y from 'yjs';
import { API_BASE } from '../api/apiUrl';
import { addFiles, createFolder, deleteFolder, renameFolder } from '../collab/fileOps';
import type { IncomingFile, RoomLimits } from '../collab/fileOps';
import type { Participant } from '../collab/participants';
import { buildTree, createFile, deleteFile, fileBytes, FileNameError, renameFile, setEntry } from '../collab/roomFiles';
import type { TreeNode } from '../collab/roomFiles';
import { exportUrl, filesFromDrop, saveBytes, unpackZipOnGateway } from '../files/transfer';
import { FileTreeToolbar } from './FileTreeToolbar';
import { NameInput } from './NameInput';
import { ChevronIcon, DownloadIcon, EntryIcon, FileIcon, FolderIcon, PencilIcon, TrashIcon } from './icons';

export interface FileTreeProps {
  readonly doc: Y.Doc;
  readonly roomId: string;
  /** The room's caps, checked before an upload is sent. */
  readonly limits: RoomLimits;
  /** Files the latest runs wrote → who ran it and when (a mark on the row). */
  readonly producedBy?: ReadonlyMap<string, string>;
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

type Editing =
  | { readonly kind: 'new' | 'newFolder' }
  | { readonly kind: 'rename' | 'delete' | 'renameDir' | 'deleteDir'; readonly path: string };

export function FileTree({ doc, roomId, limits, producedBy, paths, entry, activeFile, people, onOpen, ready, readOnly = false }: FileTreeProps) {
  const [editing, setEditing] = useState<Editing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [dropping, setDropping] = useState(false);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());

  /** Reads what came in, then checks and writes it all at once (or says which file broke a rule). */
  const bring = (incoming: Promise<IncomingFile[]>): void => {
    setError(null);
    setStatus('Reading files…');
    incoming
      .then((files) => {
        const added = addFiles(doc, files, limits);
        setStatus(`Added ${added.length} file${added.length === 1 ? '' : 's'}`);
      })
      .catch((err: unknown) => {
        setStatus(null);
        setError(err instanceof Error ? err.message : String(err));
      });
  };
  const onDragOver = (e: DragEvent): void => {
    if (readOnly || !ready || !e.dataTransfer.types.includes('Files')) return;
    e.preventDefault();
    setDropping(true);
  };
  const onDrop = (e: DragEvent): void => {
    setDropping(false);
    if (readOnly || !ready || !e.dataTransfer.types.includes('Files')) return;
    e.preventDefault();
    const dir = (e.target as Element).closest('[data-dir]')?.getAttribute('data-dir');
    bring(filesFromDrop(e.dataTransfer, dir ? `${dir}/` : ''));
  };
  const cancel = (): void => {
    setEditing(null);
    setError(null);
  };

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

  const download = (path: string): void => {
    const bytes = fileBytes(doc, path);
    if (bytes) saveBytes(path.slice(path.lastIndexOf('/') + 1), bytes);
  };

  const renderDir = (node: Extract<TreeNode, { kind: 'dir' }>, depth: number): ReactNode => {
    const open = !collapsed.has(node.path);
    const pad = { paddingLeft: 10 + depth * 14 };
    let row: ReactNode;
    if (editing?.kind === 'renameDir' && editing.path === node.path) {
      row = <NameInput depth={depth} initial={node.path} testId="rename-folder-input" label={`New name for the folder ${node.path}`} onSubmit={(to) => attempt(() => void renameFolder(doc, node.path, to))} onCancel={cancel} />;
    } else if (editing?.kind === 'deleteDir' && editing.path === node.path) {
      row = (
        <div className="tree-confirm" style={pad} data-testid="confirm-delete">
          <span>
            Delete <strong>{node.name}</strong> and everything in it for everyone?
          </span>
          <button type="button" className="btn btn-danger btn-small" data-testid="confirm-delete-yes" onClick={() => attempt(() => deleteFolder(doc, node.path))} autoFocus>
            Delete
          </button>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </div>
      );
    } else {
      row = (
        <div className="tree-row tree-dir" style={pad} data-testid="folder-row" data-dir={node.path}>
          <button type="button" className="tree-open" onClick={() => toggle(node.path)} aria-expanded={open}>
            <ChevronIcon open={open} />
            <FolderIcon />
            <span className="tree-name">{node.name}</span>
          </button>
          {readOnly ? null : (
            <span className="tree-actions">
              <button type="button" className="icon-btn" title="Rename folder" aria-label={`Rename folder ${node.path}`} data-testid="rename-folder" onClick={() => setEditing({ kind: 'renameDir', path: node.path })}>
                <PencilIcon />
              </button>
              <button type="button" className="icon-btn icon-danger" title="Delete folder" aria-label={`Delete folder ${node.path}`} data-testid="delete-folder" onClick={() => setEditing({ kind: 'deleteDir', path: node.path })}>
                <TrashIcon />
              </button>
            </span>
          )}
        </div>
      );
    }
    return (
      <li key={`d:${node.path}`} data-dir={node.path}>
        {row}
        {open ? <ul className="tree-list">{node.children.map((c) => renderNode(c, depth + 1))}</ul> : null}
      </li>
    );
  };

  const renderNode = (node: TreeNode, depth: number): ReactNode => {
    if (node.kind === 'dir') return renderDir(node, depth);
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
            onCancel={cancel}
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
    const produced = producedBy?.get(path);
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
            {produced ? (
              <span className="run-badge" title={produced} data-testid="run-badge">
                run
              </span>
            ) : null}
          </button>
          <span className="tree-people" aria-label={here.map((p) => p.name).join(', ')}>
            {here.slice(0, 4).map((p) => (
              <span key={p.clientId} className="presence-dot" style={{ background: p.color }} title={`${p.name} is here`} />
            ))}
          </span>
          <span className="tree-actions">
            <button type="button" className="icon-btn" title="Download" aria-label={`Download ${path}`} data-testid="download-file" onClick={() => download(path)}>
              <DownloadIcon />
            </button>
            {readOnly ? null : (
              <>
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
              </>
            )}
          </span>
        </div>
      </li>
    );
  };

  return (
    <section
      className={`side-section files-section${dropping ? ' tree-dropping' : ''}`}
      aria-label="Files"
      data-testid="file-tree"
      onDragOver={onDragOver}
      onDragLeave={() => setDropping(false)}
      onDrop={onDrop}
    >
      <FileTreeToolbar
        ready={ready}
        readOnly={readOnly}
        exportHref={exportUrl(API_BASE, roomId)}
        onNewFile={() => (setEditing({ kind: 'new' }), setError(null))}
        onNewFolder={() => (setEditing({ kind: 'newFolder' }), setError(null))}
        onIncoming={bring}
        onZip={(zip) => bring(unpackZipOnGateway({ apiBase: API_BASE, roomId, zip }))}
      />
      {editing?.kind === 'new' || editing?.kind === 'newFolder' ? (
        <NameInput
          depth={0}
          initial=""
          testId={editing.kind === 'new' ? 'new-file-input' : 'new-folder-input'}
          label={editing.kind === 'new' ? 'New file name, e.g. utils.py or lib/helpers.py' : 'New folder name, e.g. data'}
          onSubmit={(path) => attempt(() => (editing.kind === 'new' ? createFile(doc, path) : void createFolder(doc, path)))}
          onCancel={cancel}
        />
      ) : null}
      {error ? (
        <div className="tree-error" role="alert" data-testid="file-error">
          {error}
        </div>
      ) : status ? (
        <div className="tree-status" role="status" data-testid="file-status">
          {status}
        </div>
      ) : null}
      <ul className="tree-list tree-root">{buildTree(paths).map((n) => renderNode(n, 0))}</ul>
      {ready && paths.length === 0 ? <div className="side-empty">No files yet. Add one with +, or drop files here.</div> : null}
    </section>
  );
}
