/** A header row and rows of values, as the Compare and Bench views show their tables (and export them). */
export function DataTable({
  table,
  testId,
}: {
  table: { header: string[]; rows: (string | number)[][] };
  testId: string;
}) {
  return (
    <table className="metrics" data-testid={testId}>
      <thead>
        <tr>
          {table.header.map((h, i) => (
            <th key={i}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {table.rows.map((r, i) => (
          <tr key={i}>
            {r.map((v, j) => (
              <td key={j}>{String(v)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
