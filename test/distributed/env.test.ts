// Reading a rank's place from its launcher's environment (lib/distributed/env.ts): pure, no processes.
import { firstSlurmHost, readDistEnv } from '../../lib/distributed/env';

describe('readDistEnv', () => {
  test('no launcher variables: one process', () => {
    expect(readDistEnv({})).toBeNull();
  });

  test("torchrun's variables", () => {
    expect(readDistEnv({ RANK: '3', LOCAL_RANK: '1', WORLD_SIZE: '8', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '29400' })).toEqual({
      rank: 3, worldSize: 8, localRank: 1, localWorldSize: 2, masterAddr: '10.0.0.1', masterPort: 29400, launcher: 'torchrun',
    });
    // Defaults as torchrun's: the master on this machine, port 29500, local = global.
    expect(readDistEnv({ RANK: '1', WORLD_SIZE: '2' })).toMatchObject({ localRank: 1, localWorldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500 });
  });

  test("SLURM's variables: rank, size and GPU from the task; master from the node list and the job id", () => {
    const env = readDistEnv({ SLURM_PROCID: '9', SLURM_NTASKS: '16', SLURM_LOCALID: '1', SLURM_JOB_ID: '123456', SLURM_JOB_NODELIST: 'gpu[07-08]', SLURM_NTASKS_PER_NODE: '8(x2)' });
    expect(env).toEqual({ rank: 9, worldSize: 16, localRank: 1, localWorldSize: 8, masterAddr: 'gpu07', masterPort: 23456, launcher: 'slurm' });
    // Exported MASTER_* win; torchrun's variables win over SLURM's (torchrun inside an allocation).
    expect(readDistEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '2', MASTER_ADDR: 'head', MASTER_PORT: '1234' })).toMatchObject({ masterAddr: 'head', masterPort: 1234 });
    expect(readDistEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '2', RANK: '1', WORLD_SIZE: '4' })).toMatchObject({ rank: 1, worldSize: 4, launcher: 'torchrun' });
  });

  test('node lists', () => {
    expect(firstSlurmHost('node01')).toBe('node01');
    expect(firstSlurmHost('node[01-04],gpu7')).toBe('node01');
    expect(firstSlurmHost('a[3,5-6]')).toBe('a3');
  });

  test('bad values are refused naming the variable', () => {
    expect(() => readDistEnv({ RANK: '2', WORLD_SIZE: '2' })).toThrow(/RANK < WORLD_SIZE but received RANK 2 and WORLD_SIZE 2/);
    expect(() => readDistEnv({ RANK: 'x', WORLD_SIZE: '2' })).toThrow(/environment variable RANK to be an integer >= 0 but received 'x'/);
    expect(() => readDistEnv({ RANK: '0', WORLD_SIZE: '0' })).toThrow(/WORLD_SIZE to be an integer >= 1/);
    expect(() => readDistEnv({ RANK: '0', WORLD_SIZE: '2', MASTER_PORT: '-1' })).toThrow(/MASTER_PORT/);
  });
});
