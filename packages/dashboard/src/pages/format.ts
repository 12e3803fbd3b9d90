/** How numbers, sizes and times read on the pages. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(0)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

/** A count with thousands separators, the same in every locale (100,000, not 100000). */
export function formatCount(count: number | undefined): string {
  return count === undefined ? '-' : count.toLocaleString('en-US');
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return twoUnits(Math.floor(seconds / 60), 'min', seconds % 60, 's');
  if (seconds < 86_400)
    return twoUnits(Math.floor(seconds / 3600), 'h', Math.floor((seconds % 3600) / 60), 'min');
  return twoUnits(Math.floor(seconds / 86_400), 'd', Math.floor((seconds % 86_400) / 3600), 'h');
}

/** "10 min", not "10 min 0 s": a zero second unit says nothing. */
function twoUnits(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
}

export function formatTime(epochMs: number | undefined): string {
  if (epochMs === undefined) return '-';
  return `${new Date(epochMs).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}
