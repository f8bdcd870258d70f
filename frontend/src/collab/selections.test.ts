import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { awarenessStateSchema } from '@codecell/protocol';
import { Awareness } from 'y-protocols/awareness';
import { plainSelection, plainSelectionAwareness, resolveSelections, toCollabSelections } from './selections';

function twoClients(): { a: Y.Doc; b: Y.Doc; sync: () => void } {
  const a = new Y.Doc();
  const b = new Y.Doc();
  const sync = (): void => {
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
  };
  return { a, b, sync };
}

describe('selections in awareness', () => {
  it('round-trip through JSON and follow concurrent edits', () => {
    const { a, b, sync } = twoClients();
    a.getMap<Y.Text>('files').set('m.py', new Y.Text('hello world'));
    sync();
    const sels = toCollabSelections(a.getMap<Y.Text>('files').get('m.py')!, [
      { anchor: 0, head: 5 },
      { anchor: 6, head: 6 },
    ]);
    const state = JSON.parse(JSON.stringify({ user: { name: 'A', color: '#fff' }, selections: sels })) as unknown;
    expect(awarenessStateSchema.safeParse(state).success).toBe(true);
    const bText = b.getMap<Y.Text>('files').get('m.py')!;
    bText.insert(0, '>> ');
    expect(resolveSelections(bText, (state as { selections: typeof sels }).selections)).toEqual([
      { anchor: 3, head: 8 },
      { anchor: 9, head: 9 },
    ]);
  });
  it('ignores selections in another file or text not received yet', () => {
    const { a, b, sync } = twoClients();
    const files = a.getMap<Y.Text>('files');
    files.set('x.py', new Y.Text('x'));
    files.set('y.py', new Y.Text('y'));
    sync();
    files.get('y.py')!.insert(1, 'more');
    // Positions point at the character after them: index 1 is the 'm' b has not received.
    const sels = toCollabSelections(files.get('y.py')!, [{ anchor: 0, head: 0 }, { anchor: 0, head: 1 }]);
    expect(resolveSelections(b.getMap<Y.Text>('files').get('x.py')!, sels)).toEqual([]);
    expect(resolveSelections(b.getMap<Y.Text>('files').get('y.py')!, sels)).toEqual([{ anchor: 0, head: 0 }]);
  });
  it('caps the number of selections', () => {
    const doc = new Y.Doc();
    const t = doc.getText('t');
    t.insert(0, 'x'.repeat(100));
    expect(toCollabSelections(t, Array.from({ length: 40 }, (_, i) => ({ anchor: i, head: i })))).toHaveLength(32);
  });
});

describe('plainSelectionAwareness', () => {
  it('lets an unchanged y-monaco selection stay quiet (no change event, no redraw loop)', () => {
    const doc = new Y.Doc();
    const t = doc.getText('t');
    t.insert(0, 'abc');
    const awareness = new Awareness(doc);
    const changes: unknown[] = [];
    awareness.on('change', (e: unknown) => changes.push(e));
    const asMonaco = plainSelectionAwareness(awareness);
    // What y-monaco writes on every cursor event: fresh RelativePosition instances.
    const write = () =>
      asMonaco.setLocalStateField('selection', { anchor: Y.createRelativePositionFromTypeIndex(t, 1), head: Y.createRelativePositionFromTypeIndex(t, 2) });
    write();
    write();
    write();
    expect(changes).toHaveLength(1);
    // The same selection as our own publisher writes it: still no change.
    awareness.setLocalStateField('selection', toCollabSelections(t, [{ anchor: 1, head: 2 }])[0]);
    expect(changes).toHaveLength(1);
    // Unwrapped, every write is a "change".
    awareness.setLocalStateField('selection', { anchor: Y.createRelativePositionFromTypeIndex(t, 1), head: Y.createRelativePositionFromTypeIndex(t, 2) });
    awareness.setLocalStateField('selection', { anchor: Y.createRelativePositionFromTypeIndex(t, 1), head: Y.createRelativePositionFromTypeIndex(t, 2) });
    expect(changes).toHaveLength(3);
    // Everything else is the real awareness.
    expect(asMonaco.getStates()).toBe(awareness.getStates());
    expect(plainSelection({ anchor: Y.createRelativePositionFromTypeIndex(t, 0), head: Y.createRelativePositionFromTypeIndex(t, 0) }).anchor.item).toEqual({
      client: doc.clientID,
      clock: 0,
    });
    awareness.destroy();
  });
});
