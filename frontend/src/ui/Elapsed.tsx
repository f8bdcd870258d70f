import { useEffect, useState } from 'react';
import { formatDuration } from '../run/statusText';

/** Time since `since` (epoch ms), ticking while mounted. */
export function Elapsed({ since }: { readonly since: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 100);
    return () => clearInterval(timer);
  }, []);
  return <span className="elapsed">{formatDuration(Math.max(0, now - since))}</span>;
}
