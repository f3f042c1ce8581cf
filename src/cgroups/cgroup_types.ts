// What state.json records of a container's cgroups.
export interface CgroupRecord {
  /** every directory the container was put in, by hierarchy ("cpu", "unified", ...) */
  paths: Record<string, string>;
  /** the directories skiff made, deepest last; delete removes exactly these */
  created: string[];
  freezer?: string;
  unified?: string;
  /** --systemd-cgroup: the scope unit systemd made for the container (systemd owns the directory) */
  systemd?: { unit: string; slice: string };
}
