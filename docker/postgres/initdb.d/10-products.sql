-- docker-compose.yml's first start of the postgres volume: the demo's table (bench's
-- ProductStore.DDL), so cdc-ingest's default rule (public.products=catalog:product:{id}) fits
-- from the start. REPLICA IDENTITY FULL gives CDC the before-image of updates and deletes.
CREATE TABLE IF NOT EXISTS public.products (
  id bigint PRIMARY KEY,
  name text NOT NULL,
  price_cents bigint NOT NULL,
  version bigint NOT NULL DEFAULT 1
);
ALTER TABLE public.products REPLICA IDENTITY FULL;
