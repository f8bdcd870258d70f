/**
 * The Files header (issue 11): new file, new folder, upload files, upload a
 * folder, import a .zip, and download the room as a .zip. Uploads and imports
 * go through `onIncoming`, which checks and writes them.
 * @module
 */
import { useRef } from 'react';
import type { ChangeEvent, ReactNode } from 'react';
import type { IncomingFile } from '../collab/fileOps';
import { filesFromInput } from '../files/transfer';
import { DownloadIcon, FolderPlusIcon, PlusIcon, UploadIcon, ZipIcon } from './icons';

export interface FileTreeToolbarProps {
  readonly ready: boolean;
  readonly readOnly: boolean;
  /** Link of `GET /rooms/<roomId>/export.zip`. */
  readonly exportHref: string;
  readonly onNewFile: () => void;
  readonly onNewFolder: () => void;
  /** Files picked (or a folder): check and add them. */
  readonly onIncoming: (files: Promise<IncomingFile[]>) => void;
  /** A .zip picked for import. */
  readonly onZip: (zip: File) => void;
}

function HiddenInput({ testId, onPick, folder = false, accept }: { testId: string; onPick: (list: FileList) => void; folder?: boolean; accept?: string }) {
  const onChange = (e: ChangeEvent<HTMLInputElement>): void => {
    if (e.target.files && e.target.files.length > 0) onPick(e.target.files);
    e.target.value = '';
  };
  // webkitdirectory is not in React's types; set as a plain attribute.
  const dirProps = folder ? ({ webkitdirectory: '', directory: '' } as Record<string, string>) : {};
  return <input type="file" hidden multiple={!accept} accept={accept} data-testid={testId} onChange={onChange} {...dirProps} />;
}

function ToolButton({ title, testId, disabled, onClick, children }: { title: string; testId: string; disabled: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <button type="button" className="icon-btn" title={title} aria-label={title} data-testid={testId} disabled={disabled} onClick={onClick}>
      {children}
    </button>
  );
}

export function FileTreeToolbar({ ready, readOnly, exportHref, onNewFile, onNewFolder, onIncoming, onZip }: FileTreeToolbarProps) {
  const host = useRef<HTMLSpanElement>(null);
  const pick = (testId: string): void => host.current?.querySelector<HTMLInputElement>(`[data-testid="${testId}"]`)?.click();
  const off = !ready || readOnly;
  return (
    <div className="side-header">
      <span className="pane-title">Files</span>
      <span className="spacer" />
      <span ref={host} className="tree-tools">
        <HiddenInput testId="upload-files-input" onPick={(list) => onIncoming(filesFromInput(list))} />
        <HiddenInput testId="upload-folder-input" folder onPick={(list) => onIncoming(filesFromInput(list))} />
        <HiddenInput testId="import-zip-input" accept=".zip,application/zip" onPick={(list) => onZip(list[0]!)} />
        <ToolButton title="New file" testId="new-file" disabled={off} onClick={onNewFile}>
          <PlusIcon />
        </ToolButton>
        <ToolButton title="New folder" testId="new-folder" disabled={off} onClick={onNewFolder}>
          <FolderPlusIcon />
        </ToolButton>
        <ToolButton title="Upload files (or drop files and folders on the tree)" testId="upload-files" disabled={off} onClick={() => pick('upload-files-input')}>
          <UploadIcon />
        </ToolButton>
        <ToolButton title="Upload a folder" testId="upload-folder" disabled={off} onClick={() => pick('upload-folder-input')}>
          <FolderPlusIcon />
        </ToolButton>
        <ToolButton title="Import a .zip into the room" testId="import-zip" disabled={off} onClick={() => pick('import-zip-input')}>
          <ZipIcon />
        </ToolButton>
        <a className="icon-btn" href={exportHref} download title="Download the room as a .zip" aria-label="Download the room as a .zip" data-testid="export-zip" aria-disabled={!ready}>
          <DownloadIcon />
        </a>
      </span>
    </div>
  );
}
