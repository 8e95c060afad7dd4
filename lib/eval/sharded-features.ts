/**
 * Feature extraction split across the ranks of a distributed run: each rank runs the frozen
 * network over its own contiguous run of whole batches of the split, and the shards are
 * all-gathered (padded to the longest, true counts first: NativeProcessGroup.allGatherRows)
 * back into the split's row order. Shards are whole batches so that every forward pass sees
 * exactly the batch a one-process run would: the gathered features equal its bit for bit.
 */
import { ImlmError } from '../errors';
import { native, type NativeFeatures, type NativeProcessGroup, type NativeTensor } from '../native';
import { tensor } from '../tensor';

/** Rows [start, end) of `rank`: the batches of `count` rows dealt out contiguously, the first ranks taking one more when they do not divide. */
export function shardRows(count: number, batchSize: number, rank: number, worldSize: number): { start: number; end: number } {
  const batches = Math.ceil(count / batchSize);
  const base = Math.floor(batches / worldSize);
  const extra = batches % worldSize;
  const firstBatch = rank * base + Math.min(rank, extra);
  const ownBatches = base + (rank < extra ? 1 : 0);
  return { start: Math.min(count, firstBatch * batchSize), end: Math.min(count, (firstBatch + ownBatches) * batchSize) };
}

const range = (start: number, end: number) => Array.from({ length: end - start }, (_, i) => start + i);

/**
 * The features of every row of `images`, computed by this rank for its shard and gathered from
 * the others: the same on every rank. `extract` runs the network over a block of images;
 * `ids` are the split's, to check that every rank read the same split.
 */
export async function extractSharded(
  group: NativeProcessGroup,
  images: NativeTensor,
  ids: NativeTensor,
  batchSize: number,
  extract: (images: NativeTensor) => Promise<NativeFeatures>,
): Promise<NativeFeatures> {
  const count = images.shape[0];
  const { start, end } = shardRows(count, batchSize, group.rank, group.worldSize);
  // A rank without rows still runs one image: every rank must know whether there is an
  // embedding (one collective more or less) and what the checkpoint is.
  const rows = await native().selectRows(images, start < end ? range(start, end) : [0]);
  const shardIds = await native().selectRows(ids, range(start, end));
  const owned: NativeTensor[] = [rows, shardIds];
  const gathered: NativeTensor[] = [];
  try {
    const local = await extract(rows);
    owned.push(...local.blocks, ...(local.embedding ? [local.embedding] : []));
    const empty = start === end;
    const send = async (t: NativeTensor) => {
      const out = await group.allGatherRows(empty ? tensor(new Float32Array(0), [0]) : t);
      gathered.push(out);
      return out;
    };
    const allIds = await group.allGatherRows(shardIds);
    owned.push(allIds);
    if (!sameValues(allIds, ids)) {
      throw new ImlmError(
        `rank ${group.rank}: the ranks' shards of the split do not add up to its ids; every rank must read the same store (the same path, prepared once)`,
        'ERR_DISTRIBUTED',
      );
    }
    const blocks = [await send(local.blocks[0]), await send(local.blocks[1]), await send(local.blocks[2]), await send(local.blocks[3])] as NativeFeatures['blocks'];
    const embedding = local.embedding ? await send(local.embedding) : null;
    gathered.length = 0; // handed to the caller
    return { ...local, blocks, embedding };
  } finally {
    for (const t of [...owned, ...gathered]) t.dispose();
  }
}

function sameValues(a: NativeTensor, b: NativeTensor): boolean {
  const x = a.toTypedArray();
  const y = b.toTypedArray();
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
