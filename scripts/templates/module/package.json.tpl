{
  "name": "__NAME__",
  "private": true,
  "type": "module",
  "description": "tsips module scaffolded by npm run new-module; it imports the core by name (\"tsips\")"
}
