// Placeholder: being written.
export function Sensors() {
  return <div className="page"><h1>Sensors</h1></div>;
}
