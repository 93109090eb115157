// Placeholder: being written.
export function Account() {
  return <div className="page"><h1>Account</h1></div>;
}
