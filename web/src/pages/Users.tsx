// Placeholder: being written.
export function Users() {
  return <div className="page"><h1>Users</h1></div>;
}
