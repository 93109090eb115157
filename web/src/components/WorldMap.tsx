// A world map drawn locally (no tiles, no network): Natural Earth 1 projection of world-atlas's
// 1:110m countries, as React <path>s in an SVG whose viewBox fills the panel's width. Markers are
// focusable buttons (role="button", Enter/Space or click selects) with a text label; pulses are
// expanding rings (.map-pulse) removed when their animation ends. The atlas (≈30 KB gzipped) is
// a separate chunk loaded on first use, so pages that do not draw a map never fetch it.
import { memo, useEffect, useMemo, useState, type KeyboardEvent } from "react";
import { geoNaturalEarth1, geoPath, type GeoProjection } from "d3-geo";
import { feature } from "topojson-client";
import type { Topology, GeometryCollection } from "topojson-specification";
import type { Feature, FeatureCollection, Geometry } from "geojson";

/** The drawing's width in viewBox units; its height follows from the projection. */
export const MAP_WIDTH = 960;
const PAD = 6;
/** Latitudes shown: Antarctica and the far north are cropped, they hold no sensors. */
const NORTH = 83;
const SOUTH = -57;

type Countries = Feature<Geometry, { name?: string }>[];

let atlas: Promise<Countries> | null = null;

/** Loads (once) and decodes the countries; Antarctica (ISO 010) is left out. */
export function loadCountries(): Promise<Countries> {
  atlas ??= import("world-atlas/countries-110m.json").then((m) => {
    const topo = ((m as { default?: unknown }).default ?? m) as unknown as Topology<{ countries: GeometryCollection<{ name?: string }> }>;
    const fc = feature(topo, topo.objects.countries) as FeatureCollection<Geometry, { name?: string }>;
    return fc.features.filter((f) => f.id !== "010");
  });
  atlas.catch(() => {
    atlas = null;
  });
  return atlas;
}

/** The projection, fitted to the map's width between SOUTH and NORTH; independent of the atlas so
 *  markers can be placed before the countries have loaded. */
function makeProjection(): { projection: GeoProjection; height: number } {
  const edge: [number, number][] = [];
  for (let lon = -180; lon <= 180; lon += 5) edge.push([lon, NORTH], [lon, SOUTH]);
  for (let lat = SOUTH; lat <= NORTH; lat += 5) edge.push([-180, lat], [180, lat]);
  const frame = { type: "MultiPoint" as const, coordinates: edge };
  const projection = geoNaturalEarth1().fitWidth(MAP_WIDTH - 2 * PAD, frame);
  const [tx, ty] = projection.translate();
  projection.translate([tx + PAD, ty + PAD]);
  const [[, y0], [, y1]] = geoPath(projection).bounds(frame);
  return { projection, height: Math.ceil(y1 - y0 + 2 * PAD) };
}

const { projection, height: MAP_HEIGHT } = makeProjection();
export { MAP_HEIGHT };

/** [x, y] in viewBox units, or null for an invalid position. */
export function project(latitude: number, longitude: number): [number, number] | null {
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null;
  return projection([longitude, latitude]);
}

export interface MapMarker {
  id: string;
  latitude: number;
  longitude: number;
  /** In viewBox units. */
  radius: number;
  /** A CSS colour, e.g. var(--sev-critical). */
  fill: string;
  /** What a screen reader and the hover tooltip say about it. */
  label: string;
}

export interface MapPulse {
  key: number;
  latitude: number;
  longitude: number;
  color: string;
}

const Land = memo(function Land() {
  const [countries, setCountries] = useState<Countries | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    loadCountries().then(
      (c) => live && setCountries(c),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, []);
  const paths = useMemo(() => {
    if (!countries) return [];
    const path = geoPath(projection);
    return countries.map((c, i) => ({ key: String(c.id ?? i), d: path(c) ?? "", name: c.properties?.name ?? "" }));
  }, [countries]);
  const sphere = useMemo(() => geoPath(projection)({ type: "Sphere" }) ?? "", []);
  return (
    <g className="map-base" aria-hidden="true">
      <path className="map-water" d={sphere} />
      {paths.map((p) => (
        <path key={p.key} className="map-land" d={p.d} />
      ))}
      {failed && (
        <text x={MAP_WIDTH / 2} y={MAP_HEIGHT / 2} textAnchor="middle">
          The map outlines could not be loaded; the sensors are placed by position.
        </text>
      )}
    </g>
  );
});

export interface WorldMapProps {
  markers: readonly MapMarker[];
  pulses?: readonly MapPulse[];
  selected?: string | null;
  onSelect?: (id: string) => void;
  onPulseEnd?: (key: number) => void;
  label: string;
}

export function WorldMap({ markers, pulses = [], selected = null, onSelect, onPulseEnd, label }: WorldMapProps) {
  const placed = useMemo(
    () =>
      markers
        .map((m) => ({ m, xy: project(m.latitude, m.longitude) }))
        .filter((p): p is { m: MapMarker; xy: [number, number] } => p.xy !== null)
        // Big circles first, so a small one near a big one stays on top and clickable.
        .sort((a, b) => b.m.radius - a.m.radius || a.m.id.localeCompare(b.m.id)),
    [markers],
  );
  const selectedAt = placed.find((p) => p.m.id === selected);
  const onKey = (e: KeyboardEvent<SVGCircleElement>, id: string) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onSelect?.(id);
    }
  };
  return (
    <div className="world-map-wrap">
      <svg className="world-map" viewBox={`0 0 ${MAP_WIDTH} ${MAP_HEIGHT}`} role="group" aria-label={label} data-testid="world-map">
        <Land />
        <g className="map-markers">
          {placed.map(({ m, xy }) => (
            <circle
              key={m.id}
              className={`map-sensor ${m.id === selected ? "selected" : ""}`}
              cx={xy[0]}
              cy={xy[1]}
              r={m.radius}
              style={{ fill: m.fill }}
              role="button"
              tabIndex={0}
              aria-label={m.label}
              aria-pressed={m.id === selected}
              data-testid="map-sensor"
              data-sensor-id={m.id}
              onClick={() => onSelect?.(m.id)}
              onKeyDown={(e) => onKey(e, m.id)}
            >
              <title>{m.label}</title>
            </circle>
          ))}
        </g>
        {selectedAt && (
          <text className="map-label" x={selectedAt.xy[0]} y={selectedAt.xy[1] - selectedAt.m.radius - 5} textAnchor="middle" aria-hidden="true">
            {selectedAt.m.id}
          </text>
        )}
      </svg>
      {/* The rings animate in their own layer, so the countries are not repainted every frame. */}
      <svg className="world-map-pulses" viewBox={`0 0 ${MAP_WIDTH} ${MAP_HEIGHT}`} aria-hidden="true">
        {pulses.map((p) => {
          const xy = project(p.latitude, p.longitude);
          if (!xy) return null;
          return <circle key={p.key} className="map-pulse" cx={xy[0]} cy={xy[1]} r={4} style={{ stroke: p.color }} data-testid="map-pulse" onAnimationEnd={() => onPulseEnd?.(p.key)} />;
        })}
      </svg>
    </div>
  );
}
