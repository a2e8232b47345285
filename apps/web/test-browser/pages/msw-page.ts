/**
 * msw's service worker in the page (test builds only): answers the release catalog requests
 * the test describes, by path, so the page's own fetch code meets a good release, a damaged
 * file, a failing server, a missing manifest and a malformed one.
 */
import { HttpResponse, http } from 'msw';
import { setupWorker } from 'msw/browser';

/** One answer: a status, a content type and a body (base64 for binary files). */
export interface MockedAnswer {
  readonly status?: number;
  readonly type?: string;
  readonly text?: string;
  readonly base64?: string;
}

export async function startCatalogServer(answers: Record<string, MockedAnswer>): Promise<void> {
  const worker = setupWorker(
    http.get('*', ({ request }) => {
      const answer = answers[new URL(request.url).pathname];
      if (!answer) return undefined;
      const body = answer.base64
        ? Uint8Array.from(atob(answer.base64), (c) => c.charCodeAt(0))
        : (answer.text ?? '');
      return new HttpResponse(body, {
        status: answer.status ?? 200,
        headers: { 'content-type': answer.type ?? 'application/json' },
      });
    }),
  );
  await worker.start({
    serviceWorker: { url: '/mockServiceWorker.js' },
    onUnhandledRequest: 'bypass',
    quiet: true,
  });
}
