import { ChildProcess, spawn } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';
import { Image } from './image';
import { MetadataService } from './metadata';

/** A loopback TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** How cloud-init finds the droplet's metadata: the two ways a droplet boots. */
export type BootPath = 'DigitalOcean' | 'ConfigDrive';

export interface BootOptions {
  readonly cpus: number;
  readonly memoryMb: number;
  /** the SMBIOS system UUID; a config drive's meta_data.json carries the same one. */
  readonly uuid: string;
  /** a config drive image to attach as a CD-ROM (`/dev/sr0`), as DigitalOcean attaches one. */
  readonly configDrive?: string;
}

/** A running QEMU guest. */
export class Vm {
  private exitInfo: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly sshPort: number,
    readonly consoleLog: string,
  ) {
    child.on('exit', (code, signal) => {
      this.exitInfo = signal ? `killed by ${signal}` : `exited with ${code}`;
    });
  }

  /**
   * Boots the image under TCG the way a droplet boots: SMBIOS says DigitalOcean, with the
   * droplet id as serial number, and the stand-in metadata service answers at 169.254.169.254.
   * Without a config drive cloud-init picks its DigitalOcean datasource and reads the metadata
   * service; with one (label config-2, attached as a CD-ROM) its ConfigDrive datasource, listed
   * first in the image, reads the drive. `-snapshot` keeps the cached disk untouched; the user
   * network is `restrict=on` (see {@link MetadataService.netdev}).
   */
  static async boot(image: Image, metadata: MetadataService, droplet: { id: number; mac: string },
    dir: string, options: BootOptions): Promise<Vm> {
    const { cpus, memoryMb } = options;
    const port = await freePort();
    const consoleLog = join(dir, 'console.log');
    const args = [
      // q35 and -nodefaults: no floppy drive for the kernel to probe for seconds under TCG.
      // qemu64, not max: under TCG, max's AVX2 makes glibc pick string functions QEMU emulates
      // slowly; cloud-init finished 10-15 % sooner with qemu64 in two side-by-side boots.
      '-accel', 'tcg', '-machine', 'q35', '-nodefaults', '-cpu', process.env.E2E_QEMU_CPU ?? 'qemu64', '-smp', String(cpus),
      '-m', String(memoryMb), '-display', 'none', '-monitor', 'none', '-serial', `file:${consoleLog}`,
      '-no-reboot',
      '-smbios', `type=1,manufacturer=DigitalOcean,product=Droplet,serial=${droplet.id}`, '-uuid', options.uuid,
      '-kernel', image.kernel, '-initrd', image.initrd,
      '-append', 'root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1',
      '-drive', `file=${image.disk},if=virtio,format=raw`,
      '-snapshot',
      '-netdev', metadata.netdev('n0', port),
      '-device', `virtio-net-pci,netdev=n0,mac=${droplet.mac}`,
      // q35's AHCI controller: the drive is /dev/sr0, root:cdrom 0660, as on a droplet.
      ...(options.configDrive ? ['-drive', `file=${options.configDrive},media=cdrom,if=ide,format=raw`] : []),
      // entropy for host keys and python at boot, without waiting on the guest's own pool.
      '-device', 'virtio-rng-pci',
    ];
    // setpriv (util-linux) makes the kernel kill qemu when the harness dies, even by SIGKILL,
    // where no exit handler of ours runs.
    const child = existsSync('/usr/bin/setpriv')
      ? spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const vm = new Vm(child, port, consoleLog);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    await new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`cannot start qemu-system-x86_64: ${e.message}`)));
      child.once('spawn', () => resolve());
    });
    // qemu fails on bad arguments within a moment; report that instead of a boot timeout.
    await new Promise((r) => setTimeout(r, 1000));
    if (vm.exitInfo) throw new Error(`qemu ${vm.exitInfo}: ${output.trim()}`);
    child.on('exit', () => {
      if (output.trim()) process.stderr.write(`qemu: ${output.trim()}\n`);
    });
    return vm;
  }

  /** Why qemu is gone, or undefined while it runs. */
  get exited(): string | undefined {
    return this.exitInfo;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Stops the guest at once; the disk is a snapshot, so there is nothing to shut down cleanly. */
  kill(): void {
    if (!this.exitInfo && this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  /** Kills the guest and waits (briefly) until qemu is reaped, so no zombie outlives the run. */
  async stop(): Promise<void> {
    if (this.exitInfo) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.kill();
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  }

  consoleText(): string {
    return existsSync(this.consoleLog) ? readFileSync(this.consoleLog, 'utf8') : '';
  }

  consoleTail(lines: number): string {
    // the serial log has CRs and ANSI colours from systemd; strip them for a readable tail.
    const text = this.consoleText().replace(/\r/g, '').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }
}
