
export default function ({ data }) {
  (window.__rkQueries = window.__rkQueries || {})[data.id] = data.options;
}
