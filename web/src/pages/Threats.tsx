// Placeholder: being written.
export function Threats() {
  return <div className="page"><h1>Threats</h1></div>;
}
