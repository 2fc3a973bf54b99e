import { useEffect, useRef, useState, type RefObject } from 'react';

/** The size of an element as it lays out, at least `min`: figures draw at their panel's size. */
export function useElementSize<T extends HTMLElement>(
  initial: { width: number; height: number },
  min: { width: number; height: number },
): [RefObject<T | null>, { width: number; height: number }] {
  const ref = useRef<T>(null);
  const [size, setSize] = useState(initial);
  useEffect(() => {
    const ro = new ResizeObserver(([e]) =>
      setSize({
        width: Math.max(min.width, e!.contentRect.width),
        height: Math.max(min.height, e!.contentRect.height),
      }),
    );
    ro.observe(ref.current!);
    return () => ro.disconnect();
  }, []);
  return [ref, size];
}
