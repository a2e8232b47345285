/** The page's install state, changed in one place. */
import type { PhaseProgress } from './install.js';

export type InstallState =
  | { readonly kind: 'no-board' }
  | { readonly kind: 'connecting' }
  | { readonly kind: 'ready'; readonly hasImage: boolean }
  | { readonly kind: 'installing'; readonly progress: PhaseProgress | undefined }
  | { readonly kind: 'done'; readonly summary: string }
  | { readonly kind: 'failed'; readonly message: string };

export type InstallAction =
  | { readonly type: 'connect' }
  | { readonly type: 'connected'; readonly hasImage: boolean }
  | { readonly type: 'image'; readonly present: boolean }
  | { readonly type: 'start' }
  | { readonly type: 'progress'; readonly progress: PhaseProgress }
  | { readonly type: 'finished'; readonly summary: string }
  | { readonly type: 'failed'; readonly message: string };

export function reduce(state: InstallState, action: InstallAction): InstallState {
  switch (action.type) {
    case 'connect':
      return state.kind === 'installing' ? state : { kind: 'connecting' };
    case 'connected':
      return { kind: 'ready', hasImage: action.hasImage };
    case 'image':
      return state.kind === 'installing' || state.kind === 'no-board' || state.kind === 'connecting'
        ? state
        : { kind: 'ready', hasImage: action.present };
    case 'start':
      return state.kind === 'ready' && state.hasImage
        ? { kind: 'installing', progress: undefined }
        : state;
    case 'progress':
      return state.kind === 'installing'
        ? { kind: 'installing', progress: action.progress }
        : state;
    case 'finished':
      return { kind: 'done', summary: action.summary };
    case 'failed':
      return { kind: 'failed', message: action.message };
  }
}

/** What the Install button may do in a state. */
export function canInstall(state: InstallState, hasImage: boolean): boolean {
  return (state.kind === 'ready' || state.kind === 'done' || state.kind === 'failed') && hasImage;
}
