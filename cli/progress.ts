/**
 * A one-line progress bar with rate and ETA on stderr (a plain line per update when stderr is not a TTY,
 * so logs stay readable).
 */
export function progressBar(
  label: string,
  total: number,
): { update(done: number, note?: string): void; done(note?: string): void } {
  const start = performance.now();
  const tty = process.stderr.isTTY === true;
  let lastPrint = 0;
  const fmt = (s: number): string =>
    s >= 3600
      ? `${(s / 3600).toFixed(1)}h`
      : s >= 60
        ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
        : `${s.toFixed(0)}s`;
  const line = (done: number, note: string): string => {
    const elapsed = (performance.now() - start) / 1000;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const eta = done > 0 ? fmt((elapsed / done) * (total - done)) : '?';
    return `${label} [${bar}] ${done}/${total} ${fmt(elapsed)} elapsed, ETA ${eta}${note ? `  ${note}` : ''}`;
  };
  return {
    update(done, note = '') {
      const now = performance.now();
      if (!tty && now - lastPrint < 5000 && done < total) return;
      lastPrint = now;
      process.stderr.write(tty ? `\r\x1b[2K${line(done, note)}` : `${line(done, note)}\n`);
    },
    done(note = '') {
      process.stderr.write(tty ? `\r\x1b[2K${line(total, note)}\n` : `${line(total, note)}\n`);
    },
  };
}
