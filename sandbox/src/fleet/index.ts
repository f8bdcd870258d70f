/**
 * The sandbox's part of fleet mode (REDIS_URL): a host that takes runs from
 * Redis. Imported by the sandbox's composition root and by fleet tests.
 * @module
 */
export { FleetHost } from './FleetHost.js';
export type { FleetHostOptions } from './FleetHost.js';
export { HostRegistration } from './HostRegistration.js';
export type { HostStats, HostRegistrationOptions } from './HostRegistration.js';
export type { HostRun, HostRunner } from './ports.js';
