/**
 * `rooms.*` (My rooms, delete, sharing, people and roles) and `quotas.*`.
 * Every procedure checks the caller's role in the room on the server.
 * @module
 */
import {
  createLinkInputSchema,
  linkInfoSchema,
  linkTokenInputSchema,
  memberSchema,
  okOutputSchema,
  quotaUsageSchema,
  redeemLinkInputSchema,
  redeemLinkOutputSchema,
  removeMemberInputSchema,
  revokeLinkInputSchema,
  roomInputSchema,
  roomSummarySchema,
  setRoleInputSchema,
  shareLinkSchema,
} from '@codecell/protocol';
import { z } from 'zod';
import { done, procedure, router } from './init.js';

export const roomsRouter = router({
  /** Rooms the caller owns or joined, newest first. */
  mine: procedure.output(z.array(roomSummarySchema)).query(({ ctx }) => ctx.rooms.mine(ctx.caller)),
  /** Deletes a room (owner): runs stopped, everyone disconnected, content gone. */
  delete: procedure
    .input(roomInputSchema)
    .output(okOutputSchema)
    .mutation(({ ctx, input }) => done(ctx.rooms.deleteRoom(ctx.caller, input.roomId))),
  /** The owner and members with their roles (any member may look). */
  members: procedure
    .input(roomInputSchema)
    .output(z.array(memberSchema))
    .query(({ ctx, input }) => ctx.sharing.members(ctx.caller, input.roomId)),
  /** Gives a member another role (owner); they reconnect with it. */
  setRole: procedure
    .input(setRoleInputSchema)
    .output(okOutputSchema)
    .mutation(({ ctx, input }) => done(ctx.sharing.setRole(ctx.caller, input))),
  /** Removes a member (owner); their connections close. */
  removeMember: procedure
    .input(removeMemberInputSchema)
    .output(okOutputSchema)
    .mutation(({ ctx, input }) => done(ctx.sharing.removeMember(ctx.caller, input))),
  /** A share link for a role (owner), optionally expiring and admitting guests. */
  createLink: procedure
    .input(createLinkInputSchema)
    .output(shareLinkSchema)
    .mutation(({ ctx, input }) => ctx.sharing.createLink(ctx.caller, input)),
  /** The room's links that were not revoked (owner). */
  links: procedure
    .input(roomInputSchema)
    .output(z.array(shareLinkSchema))
    .query(({ ctx, input }) => ctx.sharing.listLinks(ctx.caller, input.roomId)),
  /** Revokes a link (owner): people who came with it lose access and are disconnected. */
  revokeLink: procedure
    .input(revokeLinkInputSchema)
    .output(okOutputSchema)
    .mutation(({ ctx, input }) => done(ctx.sharing.revokeLink(ctx.caller, input))),
  /** What a link gives (room title, role, guests allowed), before joining. Anyone with the link may ask. */
  linkInfo: procedure
    .input(linkTokenInputSchema)
    .output(linkInfoSchema)
    .query(({ ctx, input }) => ctx.sharing.linkInfo(input.token)),
  /** Joins through a link; without a session, as a guest named `displayName` (sets a session cookie). */
  redeemLink: procedure
    .input(redeemLinkInputSchema)
    .output(redeemLinkOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const { setCookie, ...joined } = await ctx.sharing.redeemLink(ctx.caller, input);
      if (setCookie !== null) ctx.setCookie(setCookie);
      return joined;
    }),
});

export const quotasRouter = router({
  /** Each quota's limit (null = unlimited), the caller's use and when it resets. */
  mine: procedure.output(quotaUsageSchema).query(({ ctx }) => ctx.quotas.usage(ctx.caller)),
});
