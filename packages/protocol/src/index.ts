/**
 * @codecell/protocol: the single source of truth for wire shapes.
 * @module
 */
export {
  ERROR_CODES,
  ERROR_CODE_TABLE,
  errorCodeSchema,
  errorBodySchema,
  CodeCellError,
  toCodeCellError,
} from './errors.js';
export type { ErrorCode, ErrorCodeMapping, ErrorBody } from './errors.js';
export {
  LANGUAGES,
  MAX_PATH_LENGTH,
  RUN_STATUSES,
  languageSchema,
  workspacePathSchema,
  workspaceFileSchema,
  runLimitsSchema,
  runRequestSchema,
  runStatusSchema,
  startEventSchema,
  stdoutEventSchema,
  stderrEventSchema,
  exitEventSchema,
  errorEventSchema,
  runEventSchema,
  stdinRequestSchema,
  healthSchema,
} from './sandboxApi.js';
export type {
  Language,
  WorkspaceFile,
  RunLimits,
  RunRequest,
  RunStatus,
  RunEvent,
  StartEvent,
  ExitEvent,
  ErrorEvent,
  StdinRequest,
  Health,
} from './sandboxApi.js';
export {
  AGENT_PROTOCOL_VERSION,
  FrameType,
  DATA_FRAME_TYPES,
  MAX_GUEST_FRAME_BYTES,
  SIGNALS,
  readyFrameSchema,
  execFrameSchema,
  signalFrameSchema,
  exitFrameSchema,
  reseedFrameSchema,
  agentErrorFrameSchema,
  pingFrameSchema,
} from './agentFrames.js';
export type {
  ReadyFrame,
  ExecFrame,
  SignalFrame,
  ExitFrame,
  ReseedFrame,
  AgentErrorFrame,
  PingFrame,
} from './agentFrames.js';
export {
  GATEWAY_PROTOCOL_VERSION,
  roomIdSchema,
  jobIdSchema,
  runCodeInputSchema,
  runCodeOutputSchema,
  sendStdinInputSchema,
  stopRunInputSchema,
  runtimeSchema,
  streamMessageSchema,
  StreamCloseCode,
} from './gatewayApi.js';
export type { RunCodeInput, RunCodeOutput, SendStdinInput, StopRunInput, Runtime, StreamMessage } from './gatewayApi.js';
