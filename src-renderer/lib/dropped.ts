/**
 * Files from a drop: folders are walked (to any depth) and only audio files are kept.
 */
export const AUDIO_EXTENSIONS = ['wav', 'mp3', 'flac', 'ogg', 'oga', 'opus', 'm4a', 'aac', 'aif', 'aiff', 'wma', 'mp4', 'webm', 'alac', 'mka'];

export function isAudioName(name: string): boolean {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  return AUDIO_EXTENSIONS.includes(ext);
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walk(entry: FileSystemEntry, out: File[], depth: number): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    if (isAudioName(file.name)) out.push(file);
  } else if (entry.isDirectory && depth < 8) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await readEntries(reader);
      if (batch.length === 0) break;
      for (const e of batch) await walk(e, out, depth + 1);
    }
  }
}

/** Audio files in a DataTransfer (files and folders). Returns also how many files were skipped. */
export async function filesFromDrop(dt: DataTransfer): Promise<{ files: File[]; skipped: number }> {
  const entries = [...dt.items]
    .filter((i) => i.kind === 'file')
    .map((i) => i.webkitGetAsEntry?.() ?? null);
  const plain = [...dt.files];
  const out: File[] = [];
  if (entries.length > 0 && entries.every((e) => e !== null)) {
    for (const e of entries) await walk(e as FileSystemEntry, out, 0);
    return { files: out, skipped: 0 };
  }
  const files = plain.filter((f) => isAudioName(f.name));
  return { files, skipped: plain.length - files.length };
}
