// Placeholder: being written.
export function Live() {
  return <div className="page"><h1>Live</h1></div>;
}
