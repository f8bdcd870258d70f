/**
 * What a client's Yjs update would do to a room document, worked out from the
 * update and the document's state before it is applied: whether every struct
 * and deletion it refers to exists (else Yjs would keep it pending forever),
 * where each inserted item lands (root type and map key, following origins
 * for items that do not carry their parent), and which live items it deletes.
 * Pure functions over `Y.Doc` internals that RoomGuard decides on.
 * @module
 */
import * as Y from 'yjs';

/** A decoded update. */
export type DecodedUpdate = ReturnType<typeof Y.decodeUpdate>;

/** Where an item goes: a root type by name, or inside a nested type (the ID of the item holding it); null when unknown (e.g. next to garbage-collected content: Yjs drops it). */
export type ItemParent = { readonly root: string } | { readonly item: Y.ID } | null;

/** An item of the update and where it lands. */
export interface PlacedItem {
  readonly item: Y.Item;
  readonly parent: ItemParent;
  /** The map key (`parentSub`), or null in a sequence. */
  readonly key: string | null;
}

/**
 * The first thing the update refers to that neither the document nor the
 * update has, or null when it applies completely. An update that would leave
 * pending structs or a pending delete set fires no `update` event, passes
 * every size check and is then written to disk by compaction.
 */
export function missingDependency(doc: Y.Doc, u: DecodedUpdate): string | null {
  // Per client, the clock up to which structs will exist once the update is applied.
  const next = new Map<number, number>();
  const known = (client: number): number => next.get(client) ?? Y.getState(doc.store, client);
  for (const s of u.structs) {
    if (s instanceof Y.Skip) continue;
    const { client, clock } = s.id;
    if (clock > known(client)) return `client ${client} from clock ${clock}, but the room has it only up to ${known(client)}`;
    next.set(client, Math.max(known(client), clock + s.length));
  }
  for (const s of u.structs) {
    if (!(s instanceof Y.Item)) continue;
    const parent = s.parent as unknown;
    for (const dep of [s.origin, s.rightOrigin, parent instanceof Y.ID ? parent : null]) {
      if (dep && dep.clock >= known(dep.client)) return `item ${dep.client}:${dep.clock}, which neither the room nor the update has`;
    }
  }
  for (const [client, deletes] of u.ds.clients) {
    for (const d of deletes) {
      if (d.clock + d.len > known(client)) return `a deletion of ${client}:${d.clock}-${d.clock + d.len - 1}, which the room does not have`;
    }
  }
  return null;
}

/**
 * Every item of the update with the root type and key it lands in. Items
 * inserted next to others carry no parent on the wire: theirs is the parent of
 * their origin, looked up in the update or in the document (iteratively: a
 * long chain of typing is one origin after another).
 */
export function placeItems(doc: Y.Doc, u: DecodedUpdate): PlacedItem[] {
  const byClient = new Map<number, Array<Y.Item | Y.GC | Y.Skip>>();
  for (const s of u.structs) {
    const list = byClient.get(s.id.client) ?? [];
    list.push(s);
    byClient.set(s.id.client, list);
  }
  const inUpdate = (id: Y.ID): Y.Item | Y.GC | Y.Skip | undefined => {
    const list = byClient.get(id.client);
    if (!list) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = list[mid] as Y.Item | Y.GC | Y.Skip;
      if (id.clock < s.id.clock) hi = mid - 1;
      else if (id.clock >= s.id.clock + s.length) lo = mid + 1;
      else return s;
    }
    return undefined;
  };
  const placed = new Map<Y.Item, { parent: ItemParent; key: string | null }>();
  const place = (start: Y.Item): { parent: ItemParent; key: string | null } => {
    const chain: Y.Item[] = [];
    let found: { parent: ItemParent; key: string | null } = { parent: null, key: null };
    for (let s: Y.Item | undefined = start; s; ) {
      const done = placed.get(s);
      if (done) {
        found = done;
        break;
      }
      chain.push(s);
      const parent = s.parent as unknown;
      if (typeof parent === 'string') {
        found = { parent: { root: parent }, key: s.parentSub };
        break;
      }
      if (parent instanceof Y.ID) {
        found = { parent: { item: parent }, key: s.parentSub };
        break;
      }
      const dep: Y.ID | null = s.origin ?? s.rightOrigin;
      const local: Y.Item | Y.GC | Y.Skip | undefined = dep ? inUpdate(dep) : undefined;
      if (local instanceof Y.Item) {
        s = local;
        continue;
      }
      if (dep && !local && dep.clock < Y.getState(doc.store, dep.client)) found = placeOfDocItem(doc, dep);
      break;
    }
    for (const s of chain) placed.set(s, found);
    return found;
  };
  return u.structs.flatMap((s) => (s instanceof Y.Item ? [{ item: s, ...place(s) }] : []));
}

/** Where an item that is already in the document lives. */
function placeOfDocItem(doc: Y.Doc, id: Y.ID): { parent: ItemParent; key: string | null } {
  const item = Y.getItem(doc.store, id) as Y.Item | Y.GC;
  if (!(item instanceof Y.Item) || !(item.parent instanceof Y.AbstractType)) return { parent: null, key: null };
  const type = item.parent;
  const parent: ItemParent = type._item === null ? { root: Y.findRootTypeKey(type) } : { item: type._item.id };
  return { parent, key: item.parentSub };
}

/** Live (not yet deleted) items of the document that the update deletes. */
export function deletedLiveItems(doc: Y.Doc, u: DecodedUpdate): Y.Item[] {
  const out: Y.Item[] = [];
  for (const [client, deletes] of u.ds.clients) {
    const structs = doc.store.clients.get(client);
    if (!structs) continue;
    const state = Y.getState(doc.store, client);
    for (const d of deletes) {
      const end = Math.min(d.clock + d.len, state);
      if (d.clock >= end) continue;
      for (let i = Y.findIndexSS(structs, d.clock); i < structs.length; i++) {
        const s = structs[i] as Y.Item | Y.GC;
        if (s.id.clock >= end) break;
        if (s instanceof Y.Item && !s.deleted) out.push(s);
      }
    }
  }
  return out;
}
