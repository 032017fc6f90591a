-- The preamble pg_dump writes: an empty search_path for the rest of the session.
SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
CREATE TABLE public.dumped (id integer NOT NULL, name text);
ALTER TABLE ONLY public.dumped ADD CONSTRAINT dumped_pkey PRIMARY KEY (id);
INSERT INTO public.dumped VALUES (1, 'one');
