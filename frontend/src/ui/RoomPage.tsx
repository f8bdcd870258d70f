/**
 * A room's page: joins the room (and makes sure the gateway has registered
 * it), owns its stream socket and its run and terminal controllers, and lays
 * out header, files, people, runs, editor, and the output, shell and console tabs.
 * @module
 */
import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { DEFAULT_TERMINAL_SIZE, RUNTIMES, TERMINAL_PROGRAMS, isCompiled, roleAllows } from '@codecell/protocol';
import type { OpenTerminal, RuntimeId, TerminalProgram, TerminalSize } from '@codecell/protocol';
import type { MeOutput } from '@codecell/protocol';
import type { GatewayClient } from '../api/trpc';
import { API_BASE, collabUrl, pageSocketUrl } from '../api/apiUrl';
import { toUserError } from '../api/userError';
import type { UserIdentity } from '../collab/identity';
import { filesOf } from '../collab/roomFiles';
import { runSubmission } from '../collab/roomLanguage';
import { NewestRunTracker, producedFiles, readRuns, runsOf } from '../collab/roomRuns';
import { DEFAULT_ROOM_LIMITS } from '../collab/fileOps';
import { hasTextPreview } from '../files/preview';
import { FilePreview } from './FilePreview';
import { RoomSession } from '../collab/RoomSession';
import type { JumpRequest } from '../editor/CollabEditor';
import type { RoomEditor } from '../editor/RoomEditor';
import { RunController } from '../run/RunController';
import { PageSocket } from '../run/pageSocket';
import { AccountMenu } from './AccountMenu';
import { FileTree } from './FileTree';
import { useDebugHandle } from './debugHandle';
import { OutputPane } from './OutputPane';
import { SidePane } from './SidePane';
import { EditorTabs } from './EditorTabs';
import { PeopleList } from './PeopleList';
import { MembersList } from './MembersList';
import { Notice } from './Notice';
import { RoomHeader } from './RoomHeader';
import { ShareDialog } from './ShareDialog';
import { RunHistory } from './RunHistory';
import { RuntimePicker } from './RuntimePicker';
import type { ThemeName } from './theme';
import { useParticipants, useRoomFiles, useRoomRuns, useSessionState } from './useRoom';
import { useRoomAccess } from './useRoomAccess';
import { useRunState } from './useRunState';
import { cursorCss } from '../collab/cursorStyles';

const CollabEditor = lazy(() => import('../editor/CollabEditor'));

export interface RoomPageProps {
  readonly roomId: string;
  readonly client: GatewayClient;
  readonly theme: { readonly theme: ThemeName; readonly toggle: () => void };
  readonly identity: UserIdentity;
  /** Who the page is signed in as (`auth.me`). */
  readonly me: MeOutput;
  readonly onRename: (name: string) => void;
  /** New room (in `language`); in hosted mode this goes to My rooms instead. */
  readonly onNewRoom: (language?: RuntimeId) => Promise<void>;
}

interface Joined {
  readonly session: RoomSession;
  readonly controller: RunController;
  readonly socket: PageSocket;
  /** One controller per terminal program: the room's shared sessions. */
  readonly terminals: Readonly<Record<TerminalProgram, RunController>>;
  /** The size that fills each screen now: what the next run (or session) starts with. */
  readonly sizes: { run: TerminalSize; terminal: TerminalSize };
}

export function RoomPage(props: RoomPageProps) {
  const { roomId, identity } = props;
  const [joined, setJoined] = useState<Joined | null>(null);
  const identityRef = useRef(identity);
  identityRef.current = identity;

  useEffect(() => {
    const session = new RoomSession({ roomId, url: collabUrl(API_BASE), user: identityRef.current, online: navigator.onLine });
    const sizes = { run: { ...DEFAULT_TERMINAL_SIZE }, terminal: { ...DEFAULT_TERMINAL_SIZE } };
    const all: RunController[] = [];
    // One socket for everything: Run is one message, its output comes back on it (issue 12).
    const socket = new PageSocket({ url: pageSocketUrl(API_BASE), onRefused: (r) => all.forEach((c) => c.refused(r)) });
    const api = {
      sendStdin: (input: { jobId: string; data: string; eof?: boolean }) => Promise.resolve(socket.stdin(input.jobId, input.data, input.eof)),
      stopRun: (input: { jobId: string }) => Promise.resolve(socket.stop(input.jobId)),
      resize: ({ jobId, cols, rows }: { jobId: string } & TerminalSize) => Promise.resolve(socket.resize(jobId, { cols, rows })),
    };
    const common = { api, openStream: (jobId: string, handlers: Parameters<PageSocket['watch']>[1]) => socket.watch(jobId, handlers), toUserError: (err: unknown) => toUserError(err, API_BASE) };
    const controller = new RunController({
      ...common,
      start: () => socket.run({ roomId, startedBy: identityRef.current.name, tty: sizes.run, ...runSubmission(session.doc) }),
    });
    const terminals = Object.fromEntries(
      TERMINAL_PROGRAMS.map((program) => [program, new RunController({ ...common, start: () => socket.terminal({ roomId, program, size: sizes.terminal, files: runSubmission(session.doc).files }) })]),
    ) as Record<TerminalProgram, RunController>;
    all.push(controller, ...Object.values(terminals));
    setJoined({ session, controller, socket, terminals, sizes });
    return () => {
      for (const c of all) c.dispose();
      socket.dispose();
      session.dispose();
    };
  }, [roomId]);

  useEffect(() => joined?.session.setUser(identity), [joined, identity]);

  if (!joined) return null;
  return <RoomView {...props} {...joined} />;
}

interface RoomViewProps extends RoomPageProps, Joined {}

function RoomView({ roomId, session, controller, socket, terminals, sizes, theme, identity, me, client, onRename, onNewRoom }: RoomViewProps) {
  const state = useSessionState(session);
  const access = useRoomAccess({ client, roomId, me, generation: state.generation });
  const hosted = me.mode !== 'none';
  // Until the role is known, nothing can be changed: the server would refuse it anyway.
  const canEdit = access.role !== null && roleAllows(access.role, 'edit');
  const canRun = access.role !== null && roleAllows(access.role, 'run');
  const [sharing, setSharing] = useState(false);
  const doc = session.doc;
  const awareness = session.awareness;
  const files = useRoomFiles(doc);
  const runs = useRoomRuns(doc);
  const people = useParticipants(awareness, doc.clientID);
  const run = useRunState(controller);
  const [activeFile, setActiveFile] = useState<string | null>(null);
  // SVG and CSV are text with a preview: the preview unless the user asked for the source.
  const [sourceOf, setSourceOf] = useState<string | null>(null);
  const [following, setFollowing] = useState<number | null>(null);
  const [jump, setJump] = useState<JumpRequest | null>(null);
  const editorRef = useRef<RoomEditor | null>(null);
  const activeRef = useRef(activeFile);
  activeRef.current = activeFile;

  const [openTerminals, setOpenTerminals] = useState<readonly OpenTerminal[]>([]);
  useEffect(() => socket.followTerminals(roomId, setOpenTerminals), [socket, roomId]);

  const canRunRef = useRef(canRun);
  canRunRef.current = canRun;
  const runNow = useCallback(() => void (canRunRef.current ? controller.run() : undefined), [controller]);

  // The output pane shows the newest run of the room, whoever started it.
  useEffect(() => {
    const runsArray = runsOf(doc);
    const tracker = new NewestRunTracker();
    const check = (): void => {
      const jobId = tracker.update(readRuns(doc));
      if (jobId !== null) controller.attach(jobId);
    };
    check();
    runsArray.observe(check);
    return () => runsArray.unobserve(check);
  }, [doc, controller]);

  // A rename (one path deleted, one added in the same transaction) takes the open file along.
  useEffect(() => {
    const map = filesOf(doc);
    const onChange = (e: { changes: { keys: Map<string, { action: 'add' | 'update' | 'delete' }> } }): void => {
      const current = activeRef.current;
      if (current === null || e.changes.keys.get(current)?.action !== 'delete') return;
      const added = [...e.changes.keys].filter(([, c]) => c.action === 'add').map(([k]) => k);
      if (added.length === 1) setActiveFile(added[0]!);
    };
    map.observe(onChange);
    return () => map.unobserve(onChange);
  }, [doc]);

  // Something to show: the entry file, else the first file.
  useEffect(() => {
    if (!state.loaded) return;
    if (activeFile !== null && files.paths.includes(activeFile)) return;
    const next = files.entry !== null && files.paths.includes(files.entry) ? files.entry : (files.paths[0] ?? null);
    if (next !== activeFile) setActiveFile(next);
  }, [state.loaded, files, activeFile]);

  // Following: go to the file they are in; stop when they leave.
  const leader = following === null ? undefined : people.find((p) => p.clientId === following);
  useEffect(() => {
    if (following === null) return;
    if (!leader) {
      setFollowing(null);
      return;
    }
    if (leader.activeFile && leader.activeFile !== activeFile && files.paths.includes(leader.activeFile)) setActiveFile(leader.activeFile);
  }, [following, leader, activeFile, files.paths]);

  const openFile = useCallback((path: string) => {
    setFollowing(null);
    setActiveFile(path);
    // After the editor switched models: typing goes to the file just opened.
    requestAnimationFrame(() => editorRef.current?.editor.focus());
  }, []);

  /** Opens `path` at a compiler message's line and column. */
  const goTo = useCallback(
    (o: { readonly path: string; readonly line: number; readonly column: number }) => {
      openFile(o.path);
      editorRef.current?.goTo(o);
    },
    [openFile],
  );

  const jumpTo = useCallback(
    (clientId: number) => {
      const p = people.find((x) => x.clientId === clientId);
      if (p?.activeFile) setActiveFile(p.activeFile);
      setJump({ clientId, nonce: Date.now() });
    },
    [people],
  );

  // Ctrl/Cmd+Enter anywhere on the page (the editor handles its own and stops the event).
  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent): void => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.defaultPrevented) {
        e.preventDefault();
        runNow();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [runNow]);

  useEffect(() => {
    document.title = `${files.title ?? roomId} · CodeCell Live`;
  }, [files.title, roomId]);

  useDebugHandle({ roomId, session, editorRef, activeRef });

  const entry = files.entry ?? files.paths[0] ?? 'main.py';
  const language = { name: RUNTIMES[files.language].name, compiled: isCompiled(files.language) };
  const activeBinary = activeFile !== null && files.binary.includes(activeFile);
  const previewing = activeFile !== null && (activeBinary || (hasTextPreview(activeFile) && sourceOf !== activeFile));
  const others = people.filter((p) => !p.isSelf);
  const here = others.filter((p) => p.activeFile === activeFile && activeFile !== null);

  if (access.error !== null) {
    return <Notice title="You cannot open this room" message={access.error.message} />;
  }

  return (
    <div className="app" data-role={access.role ?? 'unknown'}>
      <style>{cursorCss(others)}</style>
      {sharing ? <ShareDialog client={client} roomId={roomId} onClose={() => setSharing(false)} /> : null}
      <RoomHeader
        roomId={roomId}
        title={files.title}
        entry={entry}
        languageName={language.name}
        run={run}
        onRun={runNow}
        onStop={() => void controller.stop()}
        connection={state}
        people={people}
        onJump={jumpTo}
        onNewRoom={onNewRoom}
        theme={theme}
        canRun={canRun}
        onShare={!hosted ? null : access.role === 'owner' ? () => setSharing(true) : 'hidden'}
        account={hosted && me.user ? <AccountMenu client={client} user={me.user} /> : null}
      />
      {state.notice ? (
        <div className="banner banner-warn page-banner" role="alert" data-testid="room-notice" data-code={state.notice.code}>
          <span className="banner-text">{state.notice.message}</span>
          <button type="button" className="banner-close" aria-label="Dismiss" onClick={() => session.dismissNotice()}>
            ×
          </button>
        </div>
      ) : null}
      {state.fatal ? (
        <div className="banner banner-error page-banner" role="alert" data-testid="room-fatal" data-code={state.fatal.code}>
          <span className="banner-text">This room cannot be opened: {state.fatal.message}</span>
        </div>
      ) : null}
      <main className="workbench">
        <aside className="sidebar" aria-label="Room">
          <FileTree
            doc={doc}
            roomId={roomId}
            limits={access.limits ?? DEFAULT_ROOM_LIMITS}
            producedBy={producedFiles(runs)}
            paths={files.paths}
            entry={files.entry}
            activeFile={activeFile}
            people={people}
            onOpen={openFile}
            ready={state.loaded}
            readOnly={!canEdit}
          />
          <PeopleList people={people} me={identity} onRename={hosted ? null : onRename} following={following} onFollow={setFollowing} onJump={jumpTo} />
          {hosted ? <MembersList client={client} roomId={roomId} isOwner={access.role === 'owner'} presence={people.map((p) => p.clientId).join(',')} /> : null}
          <RunHistory runs={runs} shown={run.jobId} onShow={(jobId) => controller.attach(jobId, { explicit: true })} />
        </aside>
        <section className="pane editor-pane" aria-label="Editor">
          <EditorTabs
            activeFile={activeFile}
            entry={files.entry}
            leader={leader ?? null}
            onStopFollowing={() => setFollowing(null)}
            here={here}
            actions={
              activeFile !== null && !activeBinary && hasTextPreview(activeFile) && sourceOf === activeFile ? (
                <button type="button" className="btn btn-ghost btn-small" data-testid="show-preview" onClick={() => setSourceOf(null)}>
                  Preview
                </button>
              ) : null
            }
            picker={state.loaded ? <RuntimePicker doc={doc} files={files} readOnly={!canEdit} onOpen={openFile} /> : null}
          />
          <div className="editor-host" data-testid="editor">
            {!state.loaded ? (
              <div className="editor-loading" data-testid="room-loading">
                {state.socket === 'disconnected' ? 'Cannot reach the room; retrying…' : 'Joining the room…'}
              </div>
            ) : activeFile === null ? (
              <div className="editor-loading">No file open. Create one in the Files panel.</div>
            ) : previewing ? (
              <FilePreview doc={doc} path={activeFile} onSource={activeBinary ? null : () => setSourceOf(activeFile)} />
            ) : null}
            {state.loaded ? (
              <Suspense fallback={<div className="editor-loading">Loading editor…</div>}>
                <CollabEditor
                  key={state.generation}
                  doc={doc}
                  awareness={awareness}
                  path={previewing ? null : activeFile}
                  theme={theme.theme}
                  onRun={runNow}
                  onLocalEdit={() => setFollowing(null)}
                  follow={following}
                  jump={jump}
                  onEditor={(ed) => (editorRef.current = ed)}
                  readOnly={!canEdit}
                  diagnostics={run.diagnostics}
                />
              </Suspense>
            ) : null}
          </div>
        </section>
        <SidePane
          output={<OutputPane state={run} controller={controller} entry={entry} language={language} canRun={canRun} problems={{ paths: files.paths, onGoTo: goTo }} theme={theme.theme} onFit={(s) => (sizes.run = s)} />}
          terminals={terminals}
          open={openTerminals}
          canRun={canRun}
          theme={theme.theme}
          onFit={(s) => (sizes.terminal = s)}
        />
      </main>
    </div>
  );
}
