// Placeholder: being written.
export function SensorDetail({ sensorId }: { sensorId: string }) {
  return <div className="page"><h1>{sensorId}</h1></div>;
}
