import { Link } from 'wouter';
import { homePath } from '../lib/route-links.js';

export function NotFoundPage() {
  return (
    <section className="empty-state">
      <h1>Page not found</h1>
      <p className="muted">This address names no page of the dashboard.</p>
      <Link href={homePath()}>Go to the overview</Link>
    </section>
  );
}
