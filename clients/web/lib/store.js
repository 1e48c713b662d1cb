// A tiny store: state shared by a page's components, re-rendering those that use it.
import { useState, useEffect } from './html.js';

export class Store {
  constructor(state) { this.state = state; this.subs = new Set(); }
  set(patch) {
    this.state = { ...this.state, ...(typeof patch === 'function' ? patch(this.state) : patch) };
    for (const fn of this.subs) fn(this.state);
  }
  use() {
    const [s, set] = useState(this.state);
    useEffect(() => { this.subs.add(set); set(this.state); return () => this.subs.delete(set); }, []);
    return s;
  }
}
