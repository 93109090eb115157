// Placeholder: being written.
export function Onboard() {
  return <div className="page"><h1>Onboard</h1></div>;
}
