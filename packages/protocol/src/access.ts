/**
 * Rooms and roles (issue 9): the role ladder, what each role may do, share
 * links, the people of a room, "My rooms", and quota details carried by
 * `quota_exceeded` errors. The gateway enforces all of it; pages only reflect it.
 * @module
 */
import { z } from 'zod';
import { roomIdSchema } from './gatewayApi.js';
import { displayNameSchema } from './auth.js';

/** Roles from least to most: each may do everything the ones before it may. */
export const ROOM_ROLES = ['viewer', 'runner', 'editor', 'owner'] as const;
export const roomRoleSchema = z.enum(ROOM_ROLES);
export type RoomRole = z.infer<typeof roomRoleSchema>;

/** Roles a share link or the owner can give (there is one owner). */
export const SHAREABLE_ROLES = ['viewer', 'runner', 'editor'] as const;
export const shareableRoleSchema = z.enum(SHAREABLE_ROLES);
export type ShareableRole = z.infer<typeof shareableRoleSchema>;

/**
 * Everything a caller can do to a room, and the least role it needs.
 * - `read`: open the room (read files, see people and runs), read run streams.
 * - `run`: run, type stdin, stop runs.
 * - `edit`: change files (collab updates).
 * - `share`: share links, change roles, remove people.
 * - `delete`: delete the room.
 */
export const ROOM_PERMISSIONS = { read: 'viewer', run: 'runner', edit: 'editor', share: 'owner', delete: 'owner' } as const satisfies Record<
  string,
  RoomRole
>;
export type RoomAction = keyof typeof ROOM_PERMISSIONS;

/** True when `role` may do `action`. */
export function roleAllows(role: RoomRole, action: RoomAction): boolean {
  return ROOM_ROLES.indexOf(role) >= ROOM_ROLES.indexOf(ROOM_PERMISSIONS[action]);
}

/** Path of a share link's page: `<PUBLIC_URL>/join/<token>`. */
export const SHARE_LINK_PATH = '/join/';

/** A room in "My rooms". */
export const roomSummarySchema = z.object({
  roomId: roomIdSchema,
  title: z.string(),
  /** The caller's role in it. */
  role: roomRoleSchema,
  owner: z.object({ userId: z.string(), displayName: z.string() }).nullable(),
  createdAt: z.int(),
});
export type RoomSummary = z.infer<typeof roomSummarySchema>;

export const roomInputSchema = z.strictObject({ roomId: roomIdSchema });

/** One person with access to a room. */
export const memberSchema = z.object({
  userId: z.string(),
  displayName: z.string(),
  username: z.string().nullable(),
  /** Came in anonymously through a link. */
  guest: z.boolean(),
  role: roomRoleSchema,
  /** The share link this access comes from (revoking it removes them), or null when given directly. */
  viaLink: z.string().nullable(),
});
export type Member = z.infer<typeof memberSchema>;

export const setRoleInputSchema = z.strictObject({ roomId: roomIdSchema, userId: z.string().min(1).max(64), role: shareableRoleSchema });
export const removeMemberInputSchema = z.strictObject({ roomId: roomIdSchema, userId: z.string().min(1).max(64) });

export const createLinkInputSchema = z.strictObject({
  roomId: roomIdSchema,
  role: shareableRoleSchema,
  /** Hours until the link stops working (and access through it ends); omit for no expiry. */
  expiresInHours: z.number().positive().max(24 * 365).optional(),
  /** Let people without an account in, with a display name. @default false */
  allowGuests: z.boolean().optional(),
});
export type CreateLinkInput = z.input<typeof createLinkInputSchema>;

/** A share link. `url` is `<PUBLIC_URL>/join/<token>`. */
export const shareLinkSchema = z.object({
  linkId: z.string(),
  roomId: roomIdSchema,
  role: shareableRoleSchema,
  token: z.string(),
  url: z.string(),
  allowGuests: z.boolean(),
  createdAt: z.int(),
  expiresAt: z.int().nullable(),
  /** True once `expiresAt` has passed (it then grants nothing). */
  expired: z.boolean(),
});
export type ShareLink = z.infer<typeof shareLinkSchema>;

export const revokeLinkInputSchema = z.strictObject({ roomId: roomIdSchema, linkId: z.string().min(1).max(64) });
export const linkTokenInputSchema = z.strictObject({ token: z.string().min(1).max(200) });

/** What a share link's page shows before joining. */
export const linkInfoSchema = z.object({
  roomId: roomIdSchema,
  title: z.string(),
  role: shareableRoleSchema,
  allowGuests: z.boolean(),
  expiresAt: z.int().nullable(),
});
export type LinkInfo = z.infer<typeof linkInfoSchema>;

export const redeemLinkInputSchema = z.strictObject({
  token: z.string().min(1).max(200),
  /** Needed to join as a guest (no session); ignored for signed-in callers. */
  displayName: displayNameSchema.optional(),
});
export type RedeemLinkInput = z.input<typeof redeemLinkInputSchema>;
export const redeemLinkOutputSchema = z.object({ roomId: roomIdSchema, role: roomRoleSchema });

/** The quotas, as named in `quota_exceeded` errors (`data.quota.quota`). */
export const QUOTAS = ['concurrent_runs', 'runs_per_minute', 'cpu_seconds_per_day', 'rooms', 'storage_bytes'] as const;
export const quotaNameSchema = z.enum(QUOTAS);
export type QuotaName = z.infer<typeof quotaNameSchema>;

/** Carried by `quota_exceeded` errors as `data.quota`. */
export const quotaDetailsSchema = z.object({
  quota: quotaNameSchema,
  limit: z.number(),
  used: z.number(),
  /** Epoch ms when the quota resets; null when it only frees up (a run ends, something is deleted). */
  resetsAt: z.int().nullable(),
});
export type QuotaDetails = z.infer<typeof quotaDetailsSchema>;

/** Output of `quotas.mine`: each quota's limit (null = unlimited), use and reset. */
export const quotaUsageSchema = z.array(quotaDetailsSchema.extend({ limit: z.number().nullable() }));
export type QuotaUsage = z.infer<typeof quotaUsageSchema>;
