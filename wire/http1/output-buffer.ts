/**
 * Buffers for whole responses (head and small body in one write), carved from 64 KiB slabs.
 *
 * Why not Buffer.allocUnsafe: Node's pool is 8 KiB, so a 1.3 KB response (a 1 KB file and its
 * head) needed a new pool — a fresh ArrayBuffer, a runtime call and garbage-collector
 * bookkeeping — every sixth response; that cost more than the copying itself. A 64 KiB slab
 * serves about 48 such responses per allocation. A slab is never written again once carved:
 * a later response gets the next free bytes or a new slab, so a write still waiting in the
 * socket keeps its bytes. The price: a response still queued for a slow client keeps its whole
 * slab alive (at most 64 KiB, less than the 256 KiB of unsent output a connection may hold
 * before it stops being read; see connection.ts).
 */
const SLAB_SIZE = 64 * 1024;
/** Larger outputs get their own buffer: a slab is worth it only for many small ones. */
export const SLAB_LIMIT = 16 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let used = 0;

/** An uninitialized buffer of `size` bytes the caller fills completely and writes once. */
export function outputBuffer(size: number): Buffer {
  if (size > SLAB_LIMIT) return Buffer.allocUnsafe(size);
  if (used + size > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    used = 0;
  }
  const out = slab.subarray(used, used + size);
  // 8-byte aligned, as Node's pool aligns its slices.
  used = (used + size + 7) & ~7;
  return out;
}
