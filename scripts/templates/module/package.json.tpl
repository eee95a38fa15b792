{
  "name": "__NAME__",
  "private": true,
  "type": "module",
  "description": "tsips module scaffolded by npm run new-module; uses the tsips checkout at __REPO__"
}
