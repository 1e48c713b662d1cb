// Preact + htm, bound once: `html` templates and the hooks every component uses.
import { h, render } from 'preact';
import { useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);
export { h, render, useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback };
