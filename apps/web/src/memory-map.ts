/** The board's flash drawn as SVG: partitions, sectors, and what an install does to each. */
import type { BoardLayout } from '@stm32dfu/layout';
import type { FlashPlan } from '@stm32dfu/protocol';

export type SectorState = 'bootloader' | 'erase' | 'write' | 'skip' | 'untouched';

export interface SectorView {
  readonly start: number;
  readonly size: number;
  readonly state: SectorState;
  readonly label: string;
}

export function sectorViews(layout: BoardLayout, plan?: FlashPlan): SectorView[] {
  const boot = layout.partitions.bootloader;
  const all = [...boot.sectors, ...layout.partitions.application.sectors];
  return all.map((s) => {
    const planned = plan?.sectors.find((p) => p.start === s.start);
    const state: SectorState =
      s.start < boot.end ? 'bootloader' : planned ? planned.action : 'untouched';
    const what =
      state === 'bootloader'
        ? 'bootloader, read-only'
        : state === 'erase'
          ? 'differs: erase and write'
          : state === 'write'
            ? 'blank: write'
            : state === 'skip'
              ? 'unchanged: skipped'
              : 'not touched';
    return {
      start: s.start,
      size: s.size,
      state,
      label: `sector ${s.index} at 0x${s.start.toString(16)}, ${s.size / 1024} kB: ${what}`,
    };
  });
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** One bar per sector, width by size on a square-root scale so 16 kB sectors stay visible. */
export function drawMemoryMap(layout: BoardLayout, plan?: FlashPlan): SVGSVGElement {
  const views = sectorViews(layout, plan);
  const width = 640;
  const height = 56;
  const weights = views.map((v) => Math.sqrt(v.size));
  const total = weights.reduce((a, b) => a + b, 0);
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Flash memory map: ${views.map((v) => v.label).join('; ')}`);
  svg.classList.add('memory-map');
  let x = 0;
  views.forEach((v, i) => {
    const w = (weights[i]! / total) * width;
    const g = document.createElementNS(SVG_NS, 'g');
    g.setAttribute('data-sector', String(i));
    g.setAttribute('data-state', v.state);
    const rect = document.createElementNS(SVG_NS, 'rect');
    rect.setAttribute('x', x.toFixed(1));
    rect.setAttribute('y', '0');
    rect.setAttribute('width', (w - 2).toFixed(1));
    rect.setAttribute('height', '36');
    rect.setAttribute('rx', '3');
    rect.setAttribute('class', `sector ${v.state}`);
    const title = document.createElementNS(SVG_NS, 'title');
    title.textContent = v.label;
    rect.append(title);
    const text = document.createElementNS(SVG_NS, 'text');
    text.setAttribute('x', (x + w / 2 - 1).toFixed(1));
    text.setAttribute('y', '52');
    text.setAttribute('text-anchor', 'middle');
    text.textContent = `${v.size / 1024}k`;
    g.append(rect, text);
    svg.append(g);
    x += w;
  });
  return svg;
}
