import { describe, expect, it } from 'vitest';
import { collabUrl, DEV_API_URL, resolveApiBase, streamUrl } from './apiUrl';

describe('resolveApiBase', () => {
  it('uses VITE_API_URL when set, without a trailing slash', () => {
    expect(resolveApiBase({ envUrl: 'http://gw:9000/', dev: false, origin: 'http://x' })).toBe('http://gw:9000');
  });
  it('defaults to the page origin in production', () => {
    expect(resolveApiBase({ envUrl: undefined, dev: false, origin: 'https://ide.example' })).toBe(
      'https://ide.example',
    );
  });
  it('defaults to localhost:4000 in dev, also for an empty VITE_API_URL', () => {
    expect(resolveApiBase({ envUrl: undefined, dev: true, origin: 'http://127.0.0.1:5173' })).toBe(DEV_API_URL);
    expect(resolveApiBase({ envUrl: '  ', dev: true, origin: 'http://127.0.0.1:5173' })).toBe(DEV_API_URL);
  });
});

describe('streamUrl', () => {
  it('switches http to ws and https to wss', () => {
    expect(streamUrl('http://localhost:4000', 'abc')).toBe('ws://localhost:4000/stream/abc');
    expect(streamUrl('https://ide.example', 'j_1')).toBe('wss://ide.example/stream/j_1');
  });
  it('keeps a path prefix', () => {
    expect(streamUrl('https://ide.example/codecell', 'j')).toBe('wss://ide.example/codecell/stream/j');
  });
});

describe('collabUrl', () => {
  it('points at /collab with the protocol version (C1)', () => {
    expect(collabUrl('http://localhost:4000')).toBe('ws://localhost:4000/collab?protocolVersion=1');
    expect(collabUrl('https://ide.example/codecell/')).toBe('wss://ide.example/codecell/collab?protocolVersion=1');
  });
});
