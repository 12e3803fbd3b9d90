/** The label a client sends beside each body, so a broker with an `administration` capability can index the job. */
import type { TaskPackage } from '../task-package.js';
import type { PackageLabel } from './broker-administration.js';

export function packageLabel(pkg: TaskPackage): PackageLabel {
  return pkg.expiresAt === undefined
    ? { jobId: pkg.id, task: pkg.name }
    : { jobId: pkg.id, task: pkg.name, expiresAt: pkg.expiresAt };
}
