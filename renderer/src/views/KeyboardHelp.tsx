import { useEffect } from 'react';

/** Every shortcut the app answers to (one home: the help lists what the handlers do). */
export const SHORTCUTS: [string, string][] = [
  ['← / →', 'previous / next step (with Shift: 10 steps)'],
  ['Home / End', 'first / last step'],
  ['Space', 'play / pause'],
  ['+ / −', 'zoom the heatmap or the logit lens in / out, about its centre'],
  ['0', 'reset the zoom (or double-click the panel)'],
  ['Ctrl+O', 'open traces (⌘O on a Mac)'],
  ['/', 'find a text in the prompt and output (Replay)'],
  ['Esc', 'close a menu or this help'],
  ['?', 'this list'],
];

/** The list of shortcuts, over the page: `?` opens it, Esc or a click outside closes it. */
export function KeyboardHelp({ onClose }: { onClose(): void }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        className="modal"
        role="dialog"
        aria-label="Keyboard shortcuts"
        data-testid="keyboard-help"
        onClick={(e) => e.stopPropagation()}
      >
        <h3>Keyboard shortcuts</h3>
        <table>
          <tbody>
            {SHORTCUTS.map(([k, what]) => (
              <tr key={k}>
                <td>
                  <kbd>{k}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button onClick={onClose}>Close</button>
      </div>
    </div>
  );
}
