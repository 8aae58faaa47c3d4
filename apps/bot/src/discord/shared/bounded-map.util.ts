/**
 * A Map that forgets its oldest entries past `capacity` (insertion order), for caches a
 * long-running bot would otherwise grow forever; a forgotten entry is re-read from the platform
 * or the database.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly capacity: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.capacity) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
