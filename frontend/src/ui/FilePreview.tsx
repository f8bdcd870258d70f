/**
 * The editor area for files Monaco does not show (issue 11): a picture (PNG,
 * JPEG, GIF, WebP, SVG as a `data:` URL in an `<img>`, so an SVG's scripts
 * never run), a CSV table, or a download for other bytes. Follows the file as
 * it changes (a run writing plot.png again, someone editing the CSV).
 * @module
 */
import { useEffect, useState } from 'react';
import type * as Y from 'yjs';
import { formatBytes } from '@codecell/protocol';
import { fileBytes, filesOf } from '../collab/roomFiles';
import { imageDataUrl, parseCsv, previewKindOf } from '../files/preview';
import { saveBytes } from '../files/transfer';
import { DownloadIcon, PencilIcon } from './icons';

export interface FilePreviewProps {
  readonly doc: Y.Doc;
  readonly path: string;
  /** Shows the text in the editor instead (SVG and CSV are text); null for binary files. */
  readonly onSource: (() => void) | null;
}

/** The file's bytes, read again whenever the room's files change. */
function useFileBytes(doc: Y.Doc, path: string): Uint8Array | null {
  const [bytes, setBytes] = useState(() => fileBytes(doc, path));
  useEffect(() => {
    const files = filesOf(doc);
    const read = (): void => setBytes(fileBytes(doc, path));
    read();
    files.observeDeep(read);
    return () => files.unobserveDeep(read);
  }, [doc, path]);
  return bytes;
}

function CsvTable({ text, separator }: { text: string; separator: string }) {
  const { rows, more } = parseCsv(text, { separator });
  const [head, ...body] = rows;
  return (
    <div className="csv-wrap">
      <table className="csv-table" data-testid="csv-preview">
        {head ? (
          <thead>
            <tr>
              {head.map((cell, i) => (
                <th key={i}>{cell}</th>
              ))}
            </tr>
          </thead>
        ) : null}
        <tbody>
          {body.map((row, r) => (
            <tr key={r}>
              {row.map((cell, i) => (
                <td key={i}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {more ? <div className="preview-note">Only the first {rows.length} rows are shown; download the file for all of it.</div> : null}
    </div>
  );
}

export function FilePreview({ doc, path, onSource }: FilePreviewProps) {
  const bytes = useFileBytes(doc, path);
  if (bytes === null) return null;
  const kind = previewKindOf(path, onSource === null);
  const name = path.slice(path.lastIndexOf('/') + 1);
  let body;
  if (kind === 'image') {
    body = <img className="image-preview" data-testid="image-preview" src={imageDataUrl(path, bytes)} alt={path} />;
  } else if (kind === 'csv') {
    body = <CsvTable text={new TextDecoder().decode(bytes)} separator={path.toLowerCase().endsWith('.tsv') ? '\t' : ','} />;
  } else {
    body = (
      <div className="preview-note" data-testid="binary-preview">
        {name} is a binary file ({formatBytes(bytes.byteLength)}); it has no preview. Download it to open it.
      </div>
    );
  }
  return (
    <div className="file-preview" data-testid="file-preview" data-kind={kind}>
      <div className="preview-bar">
        <span className="preview-size">{formatBytes(bytes.byteLength)}</span>
        <span className="spacer" />
        {onSource ? (
          <button type="button" className="btn btn-ghost btn-small" data-testid="show-source" onClick={onSource}>
            <PencilIcon /> Source
          </button>
        ) : null}
        <button type="button" className="btn btn-ghost btn-small" data-testid="preview-download" onClick={() => saveBytes(name, bytes)}>
          <DownloadIcon /> Download
        </button>
      </div>
      <div className="preview-body">{body}</div>
    </div>
  );
}
