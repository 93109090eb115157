// Placeholder: being written.
export function Overview() {
  return <div className="page"><h1>Overview</h1></div>;
}
