// Placeholder: being written.
export function Audit() {
  return <div className="page"><h1>Audit</h1></div>;
}
