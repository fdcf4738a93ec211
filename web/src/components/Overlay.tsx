import { useEffect, useRef, useState } from "preact/hooks";
import type { Annotation, Api, BoxGeometry, Geometry } from "../api";

/** An input's image by its short-lived signed URL (asked for with the bearer token each time
 * the input is shown, so a link never outlives its use by much). */
export function useImage(api: Api, inputId: string | undefined): { url: string | null; error: unknown } {
  const [state, setState] = useState<{ url: string | null; error: unknown }>({ url: null, error: null });
  useEffect(() => {
    if (!inputId) return;
    let live = true;
    setState({ url: null, error: null });
    api.imageUrl(inputId).then(
      (found) => {
        if (live) setState({ url: found, error: null });
      },
      (error: unknown) => live && setState({ url: null, error }),
    );
    return () => {
      live = false;
    };
  }, [inputId]);
  return state;
}

/** The natural size of an image URL (boxes are in the oriented image's pixels). */
export function useNaturalSize(url: string | null): { w: number; h: number } | null {
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  useEffect(() => {
    setSize(null);
    if (!url) return;
    const image = new Image();
    image.onload = () => setSize({ w: image.naturalWidth, h: image.naturalHeight });
    image.src = url;
  }, [url]);
  return size;
}

export interface Shape {
  id: string;
  concept: string;
  score: Annotation["score"]; // optional and nullable in the document
  geometry: Geometry;
  tone: "flagged" | "approved" | "rejected" | "selected";
}

type Corner = "tl" | "tr" | "bl" | "br";
const CORNERS: Corner[] = ["tl", "tr", "bl", "br"];
const CORNER_NAMES: Record<Corner, string> = { tl: "top-left", tr: "top-right", bl: "bottom-left", br: "bottom-right" };

function cornerPoint(box: BoxGeometry, corner: Corner): [number, number] {
  return [corner.endsWith("l") ? box.x : box.x + box.w, corner.startsWith("t") ? box.y : box.y + box.h];
}

/** The box with one corner moved to (x, y), kept inside the image and at least 1 px wide and high. */
export function moveCorner(box: BoxGeometry, corner: Corner, x: number, y: number, size: { w: number; h: number }): BoxGeometry {
  // Only the dragged corner's edges move (to a tenth of a pixel); the opposite edges stay exact.
  const clampX = Math.round(Math.max(0, Math.min(size.w, x)) * 10) / 10;
  const clampY = Math.round(Math.max(0, Math.min(size.h, y)) * 10) / 10;
  let [left, right] = [box.x, box.x + box.w];
  let [top, bottom] = [box.y, box.y + box.h];
  if (corner.endsWith("l")) left = Math.min(clampX, right - 1);
  else right = Math.max(clampX, left + 1);
  if (corner.startsWith("t")) top = Math.min(clampY, bottom - 1);
  else bottom = Math.max(clampY, top + 1);
  const tidy = (v: number) => Math.round(v * 1000) / 1000;
  return { type: "box", x: left, y: top, w: tidy(right - left), h: tidy(bottom - top) };
}

/**
 * The image with every shape drawn over it in one SVG whose coordinates are the image's pixels.
 * The shape being edited gets four corner handles: drag them, or focus one and use the arrow keys
 * (Shift: 10 px).
 */
export function Overlay({
  url,
  size,
  shapes,
  editing,
  onEdit,
  label,
}: {
  url: string;
  size: { w: number; h: number };
  shapes: Shape[];
  editing: { id: string; box: BoxGeometry } | null;
  onEdit: (box: BoxGeometry) => void;
  label: string;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const dragging = useRef<Corner | null>(null);
  const stroke = Math.max(2, Math.round(Math.max(size.w, size.h) / 300));
  const font = Math.max(12, Math.round(Math.max(size.w, size.h) / 45));

  const toImage = (event: PointerEvent): [number, number] | null => {
    const matrix = svg.current?.getScreenCTM();
    if (!matrix || !svg.current) return null;
    const point = svg.current.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const local = point.matrixTransform(matrix.inverse());
    return [local.x, local.y];
  };

  const onMove = (event: PointerEvent) => {
    if (!dragging.current || !editing) return;
    const at = toImage(event);
    if (at) onEdit(moveCorner(editing.box, dragging.current, at[0], at[1], size));
  };

  return (
    <svg
      ref={svg}
      class="overlay"
      viewBox={`0 0 ${size.w} ${size.h}`}
      role="img"
      aria-label={label}
      onPointerMove={onMove}
      onPointerUp={() => (dragging.current = null)}
      onPointerLeave={() => (dragging.current = null)}
    >
      <image href={url} x={0} y={0} width={size.w} height={size.h} />
      {shapes.map((shape) => {
        const geometry = editing && shape.id === editing.id ? editing.box : shape.geometry;
        const caption = `${shape.concept}${shape.score != null ? ` ${shape.score.toFixed(2)}` : ""}`;
        if (geometry.type === "box") {
          return (
            <g key={shape.id} class={`shape ${shape.tone}`} data-shape={shape.id}>
              <rect x={geometry.x} y={geometry.y} width={geometry.w} height={geometry.h} stroke-width={stroke} />
              <text x={geometry.x + stroke} y={Math.max(font, geometry.y - stroke)} font-size={font}>
                {caption}
              </text>
            </g>
          );
        }
        if (geometry.type === "polygon") {
          const [x, y] = geometry.points[0];
          return (
            <g key={shape.id} class={`shape ${shape.tone}`} data-shape={shape.id}>
              <polygon points={geometry.points.map((p) => p.join(",")).join(" ")} stroke-width={stroke} />
              <text x={x} y={Math.max(font, y - stroke)} font-size={font}>
                {caption}
              </text>
            </g>
          );
        }
        return (
          <text key={shape.id} class={`shape ${shape.tone}`} x={stroke * 2} y={font * 1.5} font-size={font}>
            {caption}
          </text>
        );
      })}
      {editing &&
        CORNERS.map((corner) => {
          const [cx, cy] = cornerPoint(editing.box, corner);
          return (
            <circle
              key={corner}
              class="handle"
              data-corner={corner}
              cx={cx}
              cy={cy}
              r={Math.max(6, stroke * 3)}
              // Lower-case: on an SVG element Preact sets the attribute as spelled, and only
              // "tabindex" makes it focusable.
              tabindex={0}
              role="button"
              aria-label={`${CORNER_NAMES[corner]} corner: drag, or use the arrow keys`}
              onPointerDown={(event) => {
                event.preventDefault();
                (event.target as Element).setPointerCapture?.(event.pointerId);
                dragging.current = corner;
              }}
              onPointerMove={onMove}
              onPointerUp={() => (dragging.current = null)}
              onKeyDown={(event) => {
                const step = event.shiftKey ? 10 : 1;
                const delta: Record<string, [number, number]> = {
                  ArrowLeft: [-step, 0],
                  ArrowRight: [step, 0],
                  ArrowUp: [0, -step],
                  ArrowDown: [0, step],
                };
                const move = delta[event.key];
                if (!move) return;
                event.preventDefault();
                event.stopPropagation();
                onEdit(moveCorner(editing.box, corner, cx + move[0], cy + move[1], size));
              }}
            />
          );
        })}
    </svg>
  );
}
