/**
 * @codecell/server-kit: Node-side helpers shared by the sandbox and the gateway.
 * @module
 */
export { createLogger, silentLogger } from './logger.js';
export type { Logger, LogLevel } from './logger.js';
export { stopOnSignals } from './shutdown.js';
export { EnvFileError, describeEnvFile, loadEnvFile, loadServiceEnvFile } from './envFile.js';
export type { EnvFileResult, ServiceEnvFileOptions } from './envFile.js';
export { MIN_SECRET_LENGTH, SecretFileError, ensureSecretFile, readSecretFile, secretsEqual } from './secretFile.js';
export type { SecretFileProblem } from './secretFile.js';
export { MAX_RANDOM_ID_BYTES, randomId } from './randomId.js';
