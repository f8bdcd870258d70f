import { describe, expect, it } from 'vitest';
import { qemuArgs } from './qemuArgs.js';

const base = { shape: { memMb: 320, vcpus: 2 }, kernel: '/k', initramfs: '/i', rootfs: '/r.erofs', vmDir: '/vm', tscKhz: 2_500_000 } as const;

describe('qemuArgs', () => {
  it('builds a microvm with no network device, seccomp on, memory and vCPUs from the shape', () => {
    const a = qemuArgs({ ...base, acceleration: 'tcg' });
    const s = a.join(' ');
    expect(s).not.toMatch(/-net|-nic|virtio-net/);
    expect(a).toContain('-nodefaults');
    expect(s).toContain('-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
    expect(a[a.indexOf('-m') + 1]).toBe('320M');
    expect(a[a.indexOf('-smp') + 1]).toBe('2');
    expect(s).toContain('-accel tcg,tb-size=');
    expect(s).toContain('tsc_early_khz=2500000');
    expect(s).toContain('virtserialport,chardev=agent,name=agent');
  });

  it('attaches the root image read-only on virtio-blk, through the host page cache', () => {
    const a = qemuArgs({ ...base, acceleration: 'tcg' });
    const drive = a[a.indexOf('-drive') + 1] ?? '';
    expect(drive).toContain('file=/r.erofs');
    expect(drive).toContain('readonly=on');
    expect(drive).toContain('format=raw');
    expect(drive).not.toContain('cache=none');
    expect(a).toContain('virtio-blk-device,drive=root');
  });

  it('uses KVM with the host CPU when asked', () => {
    const s = qemuArgs({ ...base, acceleration: 'kvm' }).join(' ');
    expect(s).toContain('-accel kvm -cpu host');
  });

  it('maps a template RAM file shared and a clone RAM file private, and clones wait for migration', () => {
    const tpl = qemuArgs({ ...base, acceleration: 'tcg', memoryFile: { path: '/t/mem', share: true } }).join(' ');
    expect(tpl).toContain('memory-backend-file,id=mem0,size=320M,mem-path=/t/mem,share=on');
    expect(tpl).toContain('memory-backend=mem0');
    expect(tpl).not.toContain('-incoming');
    const clone = qemuArgs({ ...base, acceleration: 'tcg', memoryFile: { path: '/t/mem', share: false }, incoming: true }).join(' ');
    expect(clone).toContain('share=off');
    expect(clone).toContain('-incoming defer');
  });
});
